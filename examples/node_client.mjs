// A Node client of gql: log in, read a page of products, follow stock changes live with
// the graphql-ws client, refresh the token. `npm ci` here, then:
//
//   node examples/node_client.mjs --email staff@example.com --password gql-demo-staff
//
// Prints one JSON object per step, so its output can be read by people and programs.
import { parseArgs } from "node:util";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const { values: args } = parseArgs({
  options: {
    url: { type: "string", default: "http://127.0.0.1:8000" },
    email: { type: "string", default: "staff@example.com" },
    password: { type: "string", default: "gql-demo-staff" },
    events: { type: "string", default: "1" },
  },
});

const LOGIN = `mutation Login($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) {
    __typename
    ... on AuthPayload { accessToken refreshToken expiresIn user { email } }
    ... on UserError { code message }
  }
}`;
const PRODUCTS = `query Products($first: Int!) {
  products(first: $first) {
    totalCount
    edges { node { id name price inStock } }
  }
}`;
const STOCK_CHANGED = `subscription StockChanged {
  stockChanged { id delta quantityAfter reason product { sku stock } }
}`;
const REFRESH = `mutation Refresh($token: String!) {
  refreshToken(refreshToken: $token) { accessToken refreshToken expiresIn }
}`;

const show = (step, details = {}) => console.log(JSON.stringify({ step, ...details }));

async function graphql(query, variables, token) {
  const response = await fetch(`${args.url}/graphql`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/graphql-response+json, application/json",
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

function followStock(token, events) {
  const client = createClient({
    url: `${args.url.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${token}` },
  });
  return new Promise((resolve, reject) => {
    let received = 0;
    const stop = client.subscribe(
      { query: STOCK_CHANGED },
      {
        next: ({ data, errors }) => {
          if (errors) return reject(new Error(JSON.stringify(errors)));
          show("event", data.stockChanged);
          if (++received === events) {
            stop();
            client.dispose();
            resolve();
          }
        },
        error: reject,
        complete: () => received < events && reject(new Error("subscription ended early")),
      }
    );
    client.on("connected", () => show("subscribed"));
  });
}

const login = (await graphql(LOGIN, { email: args.email, password: args.password })).login;
if (login.__typename !== "AuthPayload") throw new Error(`login failed: ${JSON.stringify(login)}`);
show("login", { user: login.user.email, expiresIn: login.expiresIn });
const products = (await graphql(PRODUCTS, { first: 5 })).products;
show("products", { totalCount: products.totalCount, names: products.edges.map((e) => e.node.name) });
await followStock(login.accessToken, Number(args.events));
const refreshed = (await graphql(REFRESH, { token: login.refreshToken })).refreshToken;
show("refreshed", { expiresIn: refreshed.expiresIn, newToken: refreshed.accessToken !== login.accessToken });
