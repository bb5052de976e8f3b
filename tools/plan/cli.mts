// Entry of `npm run plan` (see ./main.ts).
import { createRequire } from "node:module";
import * as path from "node:path";

// Without the project's dependencies every later import fails with a module-not-found stack
// trace; one line says what to do instead. The loader is imported only once they are there.
const root = path.join(import.meta.dirname, "..", "..");
const projectRequire = createRequire(import.meta.url);
const missing = ["esbuild", "@pulumi/pulumi"].find((pkg) => {
  try {
    projectRequire.resolve(`${pkg}/package.json`, { paths: [root] });
    return false;
  } catch {
    return true;
  }
});
if (missing !== undefined) {
  process.stderr.write(`plan: the project's dependencies are not installed (${missing} is missing); run \`npm ci\` in ${root} first\n`);
  process.exitCode = 2;
} else {
  // No top-level await: the Node launcher loads this module with require().
  void import("../build/bundle.mts").then(({ runEntry }) => runEntry(path.join(import.meta.dirname, "main.ts"), process.argv.slice(2)));
}
