// Bundles a TypeScript (or JavaScript) entry and its relative imports into one CommonJS module with
// esbuild, and evaluates it in this process. Packages stay external, so the module shares this
// process's node_modules (and Pulumi's process-global runtime).
//
// Bundles are cached under node_modules/.cache/gitops-platform/bundles, keyed by entry path, and
// reused while every input file keeps its size and modification time: a cached start costs a few
// stat calls instead of an esbuild run.
//
// Node 24 runs this file as it is (type stripping: erasable syntax only) when a launcher starts;
// esbuild also inlines it into the CommonJS bundles of the modules that import it (the engine).
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import Module, { createRequire } from "node:module";
import * as path from "node:path";
import type * as Esbuild from "esbuild";

/** Node's own, undocumented module internals this loader needs. */
interface ModuleInternals {
  _nodeModulePaths(from: string): string[];
}
interface CompilableModule {
  filename: string;
  paths: string[];
  exports: unknown;
  _compile(code: string, filename: string): void;
}

// Inlined into a bundle, import.meta is empty and the bundle's own require (whose search paths
// loadBundled sets) finds the packages; run as it is, the module resolves from its own location.
const requireHere: NodeJS.Require = typeof require === "function" ? require : createRequire(import.meta.url);

// Located through esbuild rather than the file's own path: this file may itself be inlined into a bundle.
const nodeModules = path.resolve(path.dirname(requireHere.resolve("esbuild/package.json")), "..");
const projectRoot = path.dirname(nodeModules);
const cacheDir = path.join(nodeModules, ".cache", "gitops-platform", "bundles");
/** Node's on-disk compile cache (V8 bytecode), the same directory tools/build/node24.cjs uses. */
const compileCacheDir = path.join(nodeModules, ".cache", "gitops-platform", "v8");
const FORMAT = 1;

function fingerprint(file: string): string {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  return stat ? `${stat.size}:${stat.mtimeMs}` : "missing";
}

function cachedBundle(entry: string, cache: boolean): string {
  const key = crypto.createHash("sha256").update(`${FORMAT}\0${entry}`).digest("hex").slice(0, 32);
  const codeFile = path.join(cacheDir, `${key}.js`);
  const manifestFile = path.join(cacheDir, `${key}.json`);
  if (cache) {
    try {
      const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8")) as { inputs: Record<string, string> };
      const fresh = Object.entries(manifest.inputs).every(([file, print]) => fingerprint(file) === print);
      if (fresh) return fs.readFileSync(codeFile, "utf8");
    } catch {
      // No usable cache entry: build below.
    }
  }
  const esbuild = requireHere("esbuild") as typeof Esbuild;
  const result = esbuild.buildSync({
    entryPoints: [entry],
    bundle: true,
    packages: "external",
    platform: "node",
    format: "cjs",
    target: "node24",
    sourcemap: "inline",
    metafile: true,
    write: false,
    logLevel: "silent",
    absWorkingDir: path.dirname(entry),
  });
  const code = (result.outputFiles[0] as Esbuild.OutputFile).text;
  if (!cache) return code;
  const inputs: Record<string, string> = {};
  for (const input of Object.keys(result.metafile.inputs)) {
    const file = path.resolve(path.dirname(entry), input);
    inputs[file] = fingerprint(file);
  }
  try {
    fs.mkdirSync(cacheDir, { recursive: true });
    // Write to temporary names first so a concurrent reader never sees half a file.
    const suffix = `.${process.pid}.tmp`;
    fs.writeFileSync(codeFile + suffix, code);
    fs.writeFileSync(manifestFile + suffix, JSON.stringify({ entry, inputs }));
    fs.renameSync(codeFile + suffix, codeFile);
    fs.renameSync(manifestFile + suffix, manifestFile);
  } catch {
    // A read-only checkout still works, just without the cache.
  }
  return code;
}

/**
 * Bundles `file` and evaluates it as a fresh module (every call evaluates anew); returns its exports.
 * Bare imports resolve from the file's directory, then from this project's node_modules.
 * `options.cache: false` bundles without reading or writing the cache (for throw-away checkouts).
 */
export function loadBundled(file: string, options?: { readonly cache?: boolean }): unknown {
  const entry = path.resolve(file);
  if (!fs.existsSync(entry)) throw new Error(`entry file not found: ${file}`);
  // Only the project's own files are cached: an entry elsewhere (a temporary directory, another
  // checkout) would leave a cache entry behind that nothing ever reads again.
  const inProject = entry.startsWith(projectRoot + path.sep);
  const code = cachedBundle(entry, inProject && options?.cache !== false);
  // Source maps make stack traces point at the TypeScript, but once on, Node parses the maps of
  // every module loaded after (the SDKs ship theirs): a quarter second per run. Only when debugging.
  if (process.env.PLAN_DEBUG) process.setSourceMapsEnabled(true);
  const mod = new Module(entry) as unknown as CompilableModule;
  const internals = Module as unknown as ModuleInternals;
  mod.filename = entry;
  mod.paths = [...internals._nodeModulePaths(path.dirname(entry)), ...internals._nodeModulePaths(projectRoot)];
  mod._compile(code, entry);
  return mod.exports;
}

/**
 * Runs a TypeScript command of this project: bundles `entry`, calls its exported
 * `main(args): Promise<number>` and makes the result the exit status.
 */
export function runEntry(entry: string, args: readonly string[]): void {
  // The bytecode of every module the command loads (the Pulumi SDKs are thousands of files) is kept
  // between runs, also when the command is started without the Node launcher (the benchmark, tests).
  Module.enableCompileCache(compileCacheDir);
  const { main } = loadBundled(entry) as { main: (args: readonly string[]) => Promise<number> };
  main(args).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${entry}: internal error: ${error instanceof Error && error.stack ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
