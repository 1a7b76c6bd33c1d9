// Copies the browser builds that the GraphiQL page loads into a directory the app serves.
// Usage: node vendor.mjs <target directory>   (after `npm ci` here)
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const target = process.argv[2];
if (!target) {
  console.error("usage: node vendor.mjs <target directory>");
  process.exit(2);
}

// served name -> [package, file inside it]
const FILES = {
  "react.js": ["react", "umd/react.production.min.js"],
  "react-dom.js": ["react-dom", "umd/react-dom.production.min.js"],
  "graphiql.js": ["graphiql", "graphiql.min.js"],
  "graphiql.css": ["graphiql", "graphiql.min.css"],
  "explorer.js": ["@graphiql/plugin-explorer", "dist/index.umd.js"],
  "explorer.css": ["@graphiql/plugin-explorer", "dist/style.css"],
  "graphql-ws.js": ["graphql-ws", "umd/graphql-ws.min.js"],
};

mkdirSync(target, { recursive: true });
const versions = {};
for (const [name, [pkg, file]] of Object.entries(FILES)) {
  const root = join(here, "node_modules", pkg);
  copyFileSync(join(root, file), join(target, name));
  versions[pkg] = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
}
writeFileSync(join(target, "manifest.json"), JSON.stringify({ files: Object.keys(FILES), versions }, null, 2) + "\n");
console.log(`GraphiQL assets in ${target}: ${Object.keys(FILES).length} files`);
