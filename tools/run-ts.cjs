// Runs a TypeScript command of this project: `node tools/run-ts.cjs <entry.ts> [args...]`.
// The entry exports `main(argv): Promise<number>`; its result is the exit status.
"use strict";
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
