// Turns operations/**/*.graphql into generated/persisted-query-manifest.json, in Apollo's
// persisted-query manifest format (what `uploadPartnerManifest` accepts).
//
// Each body is the document exactly as Apollo Client sends it: after InMemoryCache's transform
// (which adds `__typename` to every selection set) and printed by Apollo's `print`. Its sha256 is
// then the hash the persisted-queries link sends, and the id a trusted-document lookup finds.
// `node scripts/make-manifest.mjs --check` fails when the checked-in manifest is stale.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

import { InMemoryCache } from "@apollo/client";
import { print } from "@apollo/client/utilities";
import { parse } from "graphql";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const output = join(root, "generated", "persisted-query-manifest.json");

function graphqlFiles(folder) {
  return readdirSync(folder, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory() ? graphqlFiles(join(folder, entry.name)) : entry.name.endsWith(".graphql") ? [join(folder, entry.name)] : [],
    )
    .sort();
}

export function manifestFor(files) {
  const cache = new InMemoryCache();
  const operations = files.map((file) => {
    const document = cache.transformDocument(parse(readFileSync(file, "utf8")));
    const definition = document.definitions.find((d) => d.kind === "OperationDefinition");
    if (!definition?.name) throw new Error(`${relative(root, file)}: one named operation per file`);
    const body = print(document);
    return {
      id: createHash("sha256").update(body).digest("hex"),
      name: definition.name.value,
      type: definition.operation,
      body,
    };
  });
  return { format: "apollo-persisted-query-manifest", version: 1, operations };
}

const text = JSON.stringify(manifestFor(graphqlFiles(join(root, "operations"))), null, 2) + "\n";
if (process.argv.includes("--check")) {
  if (readFileSync(output, "utf8") !== text) {
    console.error("generated/persisted-query-manifest.json is stale: run `npm run manifest`");
    process.exit(1);
  }
} else {
  writeFileSync(output, text);
  console.log(`wrote ${relative(root, output)}`);
}
