// Entry of `npm run plan` (see tools/plan/main.ts). The TypeScript sources are bundled in memory
// by esbuild (no type check, no files written): far cheaper than loading a TypeScript compiler.
"use strict";
const path = require("node:path");
const Module = require("node:module");
const esbuild = require("esbuild");

const entry = path.join(__dirname, "plan", "main.ts");
const { outputFiles } = esbuild.buildSync({
  entryPoints: [entry],
  bundle: true,
  packages: "external",
  platform: "node",
  format: "cjs",
  target: "node24",
  sourcemap: "inline",
  write: false,
  logLevel: "silent",
});
process.setSourceMapsEnabled(true);
const mod = new Module(entry);
mod.filename = entry;
mod.paths = Module._nodeModulePaths(path.dirname(entry));
mod._compile(outputFiles[0].text, entry);

mod.exports.main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`plan: internal error: ${error && error.stack ? error.stack : error}\n`);
    process.exitCode = 1;
  },
);
