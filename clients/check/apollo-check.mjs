// The client kit checked against a running server with the real Apollo Client (and graphql-ws):
//   GUALEMA_URL=http://127.0.0.1:8000 node check/apollo-check.mjs
// The server must have the demo hospital (`python -m gualema serve --demo`). Flows: an error
// union's message through `... on Error` (needs possibleTypes), login, browse, book, pay in the
// sandbox, a graphql-ws subscription, all through the persisted-queries link (hashed GETs); then a
// partner application whose manifest is uploaded and activated runs by hash alone with its API key.
import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const base = (process.env.GUALEMA_URL ?? "http://127.0.0.1:8000").replace(/\/$/, "");
const { possibleTypes } = JSON.parse(readFileSync(join(root, "generated", "possible-types.json"), "utf8"));
const manifest = JSON.parse(readFileSync(join(root, "generated", "persisted-query-manifest.json"), "utf8"));
const op = (file) => gql(readFileSync(join(root, "operations", file), "utf8"));
const sha256 = (text) => createHash("sha256").update(text).digest("hex");

let failures = 0;
function check(condition, label, detail = "") {
  console.log(`${condition ? "ok  " : "FAIL"} ${label}${detail ? `: ${detail}` : ""}`);
  if (!condition) failures += 1;
}

/** Every HTTP request the links send, to show what went over the wire. */
const wire = [];
const recordingFetch = async (url, init) => {
  const response = await fetch(url, init);
  const body = typeof init?.body === "string" ? JSON.parse(init.body) : null;
  wire.push({ method: init?.method ?? "GET", url: String(url), withText: Boolean(body?.query) || String(url).includes("query="), status: response.status });
  return response;
};

function makeClient({ headers = () => ({}), subscriptions = false }) {
  const auth = new ApolloLink((operation, forward) => {
    operation.setContext(({ headers: previous = {} }) => ({ headers: { ...previous, ...headers() } }));
    return forward(operation);
  });
  const http = ApolloLink.from([
    auth,
    new PersistedQueryLink({ sha256, useGETForHashedQueries: true }),
    new HttpLink({ uri: `${base}/graphql`, fetch: recordingFetch }),
  ]);
  let link = http;
  let ws = null;
  if (subscriptions) {
    ws = createClient({
      url: `${base.replace(/^http/, "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: () => headers(),
      lazy: true,
    });
    const isSubscription = ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === "OperationDefinition" && definition.operation === "subscription";
    };
    link = ApolloLink.split(isSubscription, new GraphQLWsLink(ws), http);
  }
  const client = new ApolloClient({ link, cache: new InMemoryCache({ possibleTypes }) });
  return { client, close: () => ws?.dispose() };
}

function localDate(offsetDays = 0) {
  const day = new Date(Date.now() + offsetDays * 86_400_000);
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(day);
}

async function miniProgram() {
  let token = null;
  const { client, close } = makeClient({
    headers: () => (token ? { Authorization: `Bearer ${token}` } : {}),
    subscriptions: true,
  });
  try {
    const wrong = await client.mutate({ mutation: op("mini-program/login.graphql"), variables: { phone: "13700000001", password: "wrong-password" } });
    const refusal = wrong.data.login;
    check(refusal.__typename !== "AuthPayload" && typeof refusal.message === "string" && refusal.message.length > 0,
      "an error union member's message is read through `... on Error`", `${refusal.__typename}: ${refusal.message}`);

    const login = (await client.mutate({ mutation: op("mini-program/login.graphql"), variables: { phone: "13700000001", password: "patient12345" } })).data.login;
    check(login.__typename === "AuthPayload", "login", login.account?.name);
    token = login.accessToken;

    const departments = (await client.query({ query: op("mini-program/departments.graphql") })).data.departments;
    check(departments.length > 0, "browse departments", `${departments.length} departments`);
    const before = wire.length;
    await client.query({ query: op("mini-program/departments.graphql"), fetchPolicy: "network-only" });
    const again = wire.slice(before);
    check(again.length === 1 && again[0].method === "GET" && !again[0].withText && again[0].status === 200,
      "a known document is sent by hash alone over GET", JSON.stringify(again));

    const schedules = (await client.query({ query: op("mini-program/schedules.graphql"), variables: { dateFrom: localDate(0), dateTo: localDate(6) } })).data.schedules;
    const slot = schedules.flatMap((s) => s.slots).find((s) => s.bookable && s.remaining > 0);
    check(Boolean(slot), "browse schedules and find a bookable slot", `${schedules.length} sessions`);
    const patients = (await client.query({ query: op("mini-program/my-patients.graphql") })).data.myPatients;

    const booked = (await client.mutate({ mutation: op("mini-program/book-slot.graphql"), variables: { input: { slotId: slot.id, patientId: patients[0].id, idempotencyKey: randomUUID() } } })).data.bookSlot;
    check(booked.__typename === "Booking", "book a slot", `${booked.__typename} ${booked.status ?? booked.message}`);

    const pay = (await client.mutate({ mutation: op("mini-program/pay-booking.graphql"), variables: { bookingId: booked.id } })).data.payBooking;
    check(pay.__typename === "SandboxPayment", "pay (sandbox order)", pay.order?.outTradeNo ?? pay.message);
    const pressed = await fetch(`${base}/payments/sandbox/${pay.order.outTradeNo}/pay`, { method: "POST", redirect: "manual" });
    const mine = (await client.query({ query: op("mini-program/my-bookings.graphql"), fetchPolicy: "network-only" })).data.myBookings.edges.map((e) => e.node);
    const paid = mine.find((b) => b.id === booked.id);
    check(pressed.status === 303 && paid?.status === "CONFIRMED", "the sandbox payment confirms the booking", paid?.status);

    const first = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no subscription event in 10 s")), 10_000);
      const subscription = client.subscribe({ query: op("mini-program/my-queue.graphql"), variables: { bookingId: booked.id } }).subscribe({
        next: (result) => { clearTimeout(timer); subscription.unsubscribe(); resolve(result); },
        error: (error) => { clearTimeout(timer); reject(error); },
      });
    });
    check(first.data?.myQueue?.bookingId === booked.id, "a graphql-ws subscription (myQueue) answers", first.data?.myQueue?.message);
  } finally {
    close();
  }
}

async function partner() {
  let token = null;
  const { client: admin } = makeClient({ headers: () => (token ? { Authorization: `Bearer ${token}` } : {}) });
  token = (await admin.mutate({ mutation: op("mini-program/login.graphql"), variables: { phone: "13800000000", password: "admin12345" } })).data.login.accessToken;
  const application = `apollo-check-${Date.now()}`;
  const queries = { ...manifest, operations: manifest.operations.filter((o) => ["Departments", "Doctors", "Schedules"].includes(o.name)) };
  const uploaded = (await admin.mutate({ mutation: op("admin/upload-partner-manifest.graphql"), variables: { application, version: "1", manifest: queries } })).data.uploadPartnerManifest;
  check(uploaded.__typename === "PartnerManifest", "upload the generated manifest", uploaded.message ?? `${uploaded.documentCount} documents`);
  await admin.mutate({ mutation: op("admin/activate-partner-manifest.graphql"), variables: { id: uploaded.id } });
  const created = (await admin.mutate({ mutation: op("admin/create-partner-key.graphql"), variables: { input: { application, name: "apollo-check" } } })).data.createPartnerKey;
  check(created.__typename === "PartnerKeyCreated", "create a partner key");

  const { client } = makeClient({ headers: () => ({ "X-Api-Key": created.key }) });
  const before = wire.length;
  const result = await client.query({ query: op("mini-program/departments.graphql") });
  const sent = wire.slice(before);
  check(result.data.departments.length > 0 && sent.every((r) => !r.withText),
    "the partner key runs its manifest's document by hash alone", JSON.stringify(sent));
  const raw = await fetch(`${base}/graphql`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": created.key }, body: JSON.stringify({ query: "{ departments { id } }" }) });
  check(raw.status === 403, "the partner key is refused raw text", String(raw.status));
}

try {
  await miniProgram();
  await partner();
} catch (error) {
  console.error(error);
  failures += 1;
}
console.log(failures ? `${failures} check(s) failed` : "all client checks passed");
process.exit(failures ? 1 : 0);
