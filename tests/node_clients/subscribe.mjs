// Subscribes to stockChanged with the npm graphql-ws client and prints each event as a
// JSON line; prints {"ready": true} once the subscription is established.
// Usage: node subscribe.mjs <ws-url> <access-token> <count>
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token, count] = process.argv.slice(2);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  lazy: false,
  retryAttempts: 0,
  on: { connected: () => console.log(JSON.stringify({ connected: true })) },
});

const subscription = client.iterate({
  query: "subscription { stockChanged { id delta quantityAfter product { sku stock } } }",
});

let received = 0;
const timer = setTimeout(() => {
  console.error("timed out");
  process.exit(2);
}, 20000);
for await (const result of subscription) {
  console.log(JSON.stringify(result));
  received += 1;
  if (received >= Number(count)) break;
}
clearTimeout(timer);
await client.dispose();
