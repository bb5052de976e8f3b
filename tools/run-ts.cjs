// Runs a TypeScript command of this project: `node tools/run-ts.cjs <entry.ts> [args...]`.
// The entry exports `main(argv): Promise<number>`; its result is the exit status.
"use strict";
const path = require("node:path");
const { enableCompileCache } = require("node:module");

// Node's on-disk compile cache keeps V8 bytecode of every module loaded (the Pulumi SDKs are
// thousands of files): later runs skip most parsing and compiling. Next to the dependencies, so a
// fresh `npm ci` starts it afresh.
if (enableCompileCache) enableCompileCache(path.join(__dirname, "..", "node_modules", ".cache", "gitops-platform", "v8"));

const { loadBundled } = require("./bundle.cjs");

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  process.stderr.write("usage: node tools/run-ts.cjs <entry.ts> [args...]\n");
  process.exit(2);
}
loadBundled(entry)
  .main(args)
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`${entry}: internal error: ${error && error.stack ? error.stack : error}\n`);
      process.exitCode = 1;
    },
  );
