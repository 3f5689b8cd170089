// GraphQL Code Generator: typed document nodes for the operations in operations/, and the
// possibleTypes Apollo Client needs to match `... on Error` inside a union (STACK-NOTES "Client tools").
// The client preset is used (not typescript + typescript-operations in one file, which clash).
import type { CodegenConfig } from "@graphql-codegen/cli";

const scalars = {
  Date: "string", // "2026-12-03" (the hospital's calendar day)
  DateTime: "string", // ISO 8601 with offset, rendered in Asia/Shanghai
  Time: "string", // "08:30:00"
  JSON: "unknown",
};

const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["operations/**/*.graphql"],
  ignoreNoDocuments: false,
  generates: {
    "generated/gql/": {
      preset: "client",
      config: { scalars, strictScalars: true, enumsAsTypes: true, useTypeImports: true },
      presetConfig: { fragmentMasking: false },
    },
    "generated/possible-types.json": {
      plugins: ["fragment-matcher"],
      config: { apolloClientVersion: 3, module: "commonjs" },
    },
  },
};

export default config;
