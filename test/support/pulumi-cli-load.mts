// Loads index.ts the way the Pulumi CLI's Node.js language host does (@pulumi/pulumi's
// cmd/run/run.js): the tsconfig named by PULUMI_NODEJS_TSCONFIG_PATH (the host sets it from
// Pulumi.yaml runtime.options.tsconfig), else tsconfig.json; its ts-node (the project's, else the
// vendored one) registered with that file, transpile-only when its own compilerOptions set noCheck.
// Prints what the entry exports. Run as `node test/support/pulumi-cli-load.mts <project root>`.
import { createRequire } from "node:module";
import * as path from "node:path";

interface TsUtils {
  typeScriptRequireStrings(this: void): { tsnodeRequire: string; typescriptRequire: string };
  loadTypeScriptCompilerOptions(this: void, tsConfigPath: string): { noCheck?: boolean };
}
interface TsNode {
  register(options: Record<string, unknown>): unknown;
}

const root = process.argv[2];
if (root === undefined) throw new Error("usage: node test/support/pulumi-cli-load.mts <project root>");
process.chdir(root);
const fromRoot = createRequire(path.join(root, "package.json"));
const { typeScriptRequireStrings, loadTypeScriptCompilerOptions } = fromRoot("@pulumi/pulumi/tsutils") as TsUtils;
const tsConfigPath = process.env.PULUMI_NODEJS_TSCONFIG_PATH ?? "tsconfig.json";
const { tsnodeRequire, typescriptRequire } = typeScriptRequireStrings();
const compilerOptions = loadTypeScriptCompilerOptions(tsConfigPath);
(fromRoot(tsnodeRequire) as TsNode).register({
  compiler: typescriptRequire,
  transpileOnly: compilerOptions.noCheck,
  project: tsConfigPath,
  skipProject: false,
  compilerOptions: {},
});
const program = fromRoot(path.join(root, "index.ts")) as unknown;
process.stdout.write(JSON.stringify({ exportType: typeof program, tsconfig: tsConfigPath, transpileOnly: compilerOptions.noCheck === true }) + "\n");
