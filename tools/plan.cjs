// Entry of `npm run plan` (see tools/plan/main.ts).
"use strict";
const path = require("node:path");

// Without the project's dependencies every later require fails with a module-not-found stack
// trace; one line says what to do instead.
const root = path.join(__dirname, "..");
for (const pkg of ["esbuild", "@pulumi/pulumi"]) {
  try {
    require.resolve(`${pkg}/package.json`, { paths: [root] });
  } catch {
    process.stderr.write(`plan: the project's dependencies are not installed (${pkg} is missing); run \`npm ci\` in ${root} first\n`);
    process.exit(2);
  }
}
process.argv.splice(2, 0, path.join(__dirname, "plan", "main.ts"));
require("./run-ts.cjs");
