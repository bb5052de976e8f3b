// Loads index.ts the way the Pulumi CLI's Node.js language host does (@pulumi/pulumi's
// cmd/run/run.js): its ts-node (the project's, else the vendored one) registered with the
// project's tsconfig, transpile-only when tsconfig sets noCheck. Prints what the entry exports.
"use strict";
const path = require("node:path");
const root = process.argv[2];
process.chdir(root);
const fromRoot = (id) => require(require.resolve(id, { paths: [root] }));
const { typeScriptRequireStrings, loadTypeScriptCompilerOptions } = fromRoot("@pulumi/pulumi/tsutils");
const { tsnodeRequire, typescriptRequire } = typeScriptRequireStrings();
const compilerOptions = loadTypeScriptCompilerOptions("tsconfig.json");
require(tsnodeRequire).register({
  compiler: typescriptRequire,
  transpileOnly: compilerOptions.noCheck,
  project: "tsconfig.json",
  skipProject: false,
  compilerOptions: {},
});
const program = require(path.join(root, "index.ts"));
process.stdout.write(JSON.stringify({ exportType: typeof program, transpileOnly: compilerOptions.noCheck === true }) + "\n");
