// Loads index.ts the way the Pulumi CLI's Node.js language host does (@pulumi/pulumi's
// cmd/run/run.js): the tsconfig named by PULUMI_NODEJS_TSCONFIG_PATH (the host sets it from
// Pulumi.yaml runtime.options.tsconfig), else tsconfig.json; its ts-node (the project's, else the
// vendored one) registered with that file, transpile-only when its own compilerOptions set noCheck.
// Prints what the entry exports.
"use strict";
const path = require("node:path");
const root = process.argv[2];
process.chdir(root);
const fromRoot = (id) => require(require.resolve(id, { paths: [root] }));
const { typeScriptRequireStrings, loadTypeScriptCompilerOptions } = fromRoot("@pulumi/pulumi/tsutils");
const tsConfigPath = process.env.PULUMI_NODEJS_TSCONFIG_PATH ?? "tsconfig.json";
const { tsnodeRequire, typescriptRequire } = typeScriptRequireStrings();
const compilerOptions = loadTypeScriptCompilerOptions(tsConfigPath);
require(tsnodeRequire).register({
  compiler: typescriptRequire,
  transpileOnly: compilerOptions.noCheck,
  project: tsConfigPath,
  skipProject: false,
  compilerOptions: {},
});
const program = require(path.join(root, "index.ts"));
process.stdout.write(JSON.stringify({ exportType: typeof program, tsconfig: tsConfigPath, transpileOnly: compilerOptions.noCheck === true }) + "\n");
