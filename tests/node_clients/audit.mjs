// Runs the graphql-http server audit (GraphQL over HTTP conformance) against a URL.
// Usage: node audit.mjs http://127.0.0.1:PORT/graphql
// Prints one JSON array: {id, name, status, reason?, statusCode?, contentType?, body?} per audit.
import { auditServer } from "graphql-http";

const url = process.argv[2];
if (!url) {
  console.error("usage: node audit.mjs URL");
  process.exit(2);
}

const results = await auditServer({ url });
const report = [];
for (const result of results) {
  const entry = { id: result.id, name: result.name, status: result.status };
  if (result.status !== "ok") {
    entry.reason = result.reason;
    entry.statusCode = result.response.status;
    entry.contentType = result.response.headers.get("content-type");
    // The body may have been read by the audit already.
    try {
      entry.body = (await result.response.text()).slice(0, 500);
    } catch {
      entry.body = null;
    }
  }
  report.push(entry);
}
process.stdout.write(JSON.stringify(report) + "\n");
