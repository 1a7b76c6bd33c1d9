// Relay against a live server: fetch a page of products, then refetch one of them by its
// global id through `node`, and report what Relay's store holds for that id.
// Usage: node relay.mjs http://127.0.0.1:PORT/graphql [INDEX] [--pause]
//   INDEX: which listed product to refetch (0 by default); --pause: wait for a line on
//   standard input between the list and the refetch (the test changes the product there).
// Needs the artifacts of relay/ProductRefetch.js: run `npx relay-compiler` in this
// directory first (the test suite does).
// Prints two JSON lines: {listed, listedRef, record} once the list is in the store, then
// {refetched, refetchedRef, record, listFromStore} after the refetch (`*Ref`: the store's
// data id of the product; `record`: the store's record of it; `listFromStore`: the list
// read again from the store alone, without a request).
import { createInterface } from "node:readline";

import RelayRuntime from "relay-runtime";

import ListQuery from "./relay/__generated__/ProductRefetchListQuery.graphql.js";
import NodeQuery from "./relay/__generated__/ProductRefetchNodeQuery.graphql.js";

const { Environment, Network, RecordSource, Store, createOperationDescriptor, fetchQuery } =
  RelayRuntime;

const [url, indexArgument = "0", pauseArgument] = process.argv.slice(2);
const index = Number(indexArgument);
if (!url || (pauseArgument !== undefined && pauseArgument !== "--pause")) {
  console.error("usage: node relay.mjs URL [INDEX] [--pause]");
  process.exit(2);
}

async function fetchGraphQL(params, variables) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ query: params.text, operationName: params.name, variables }),
  });
  const body = await response.json();
  if (!response.ok || body.errors) {
    throw new Error(`${params.name}: HTTP ${response.status}: ${JSON.stringify(body)}`);
  }
  return body;
}

const source = new RecordSource();
const environment = new Environment({
  network: Network.create(fetchGraphQL),
  store: new Store(source),
});

/** The data id that the root field with this storage key points to. */
function rootRef(storageKey) {
  const link = source.get("client:root")?.[storageKey];
  return link === undefined ? null : link.__ref;
}

/** The store's record of a data id: its fields, without Relay's own (`__id`, `__typename`). */
function record(dataID) {
  const found = source.get(dataID);
  return found === undefined
    ? null
    : Object.fromEntries(Object.entries(found).filter(([name]) => !name.startsWith("__")));
}

function print(value) {
  process.stdout.write(JSON.stringify(value) + "\n");
}

// 1. The list: `fetchQuery` normalizes the answer into the store and reads it back from there.
const listVariables = { first: 5 };
const list = await fetchQuery(environment, ListQuery, listVariables).toPromise();
const listed = list.products.edges.map((edge) => edge.node);
if (listed[index] === undefined) {
  console.error(`no product at index ${index} (listed ${listed.length})`);
  process.exit(1);
}
const connection = source.get(rootRef('products(first:5)'));
const listedRef = source.get(connection.edges.__refs[index]).node.__ref;
print({ listed, listedRef, record: record(listedRef) });

if (pauseArgument === "--pause") {
  const lines = createInterface({ input: process.stdin });
  await new Promise((resolve) => lines.once("line", resolve));
  lines.close();
}

// 2. The refetch through `node`, by the listed product's global id.
const id = listed[index].id;
const refetch = await fetchQuery(environment, NodeQuery, { id }).toPromise();
const refetchedRef = rootRef(`node(id:${JSON.stringify(id)})`);

// 3. The list again, from the store alone.
const snapshot = environment.lookup(createOperationDescriptor(ListQuery, listVariables).fragment);
print({
  refetched: refetch.node,
  refetchedRef,
  record: record(refetchedRef),
  listFromStore: snapshot.data.products.edges.map((edge) => edge.node),
});
