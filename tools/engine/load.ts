/**
 * Loads a Pulumi program's entry file (TypeScript or JavaScript) in this process.
 *
 * The entry and its relative imports are bundled by esbuild in memory (packages stay external, so
 * the program shares this process's `@pulumi/*` modules and the mock runtime), then compiled as a
 * fresh CommonJS module: every run evaluates the program anew, with source maps for stack traces.
 */
import * as esbuild from "esbuild";
import Module from "node:module";
import * as path from "node:path";
import * as fs from "node:fs";

const projectRoot = path.resolve(__dirname, "..", "..");

/** What an entry module exports: a function (the program) or its outputs. */
export type ProgramExport = unknown;

/** Bundles `file` and returns its CommonJS source (with an inline source map). */
export function bundle(file: string): string {
  const result = esbuild.buildSync({
    entryPoints: [file],
    bundle: true,
    packages: "external",
    platform: "node",
    format: "cjs",
    target: "node24",
    sourcemap: "inline",
    write: false,
    logLevel: "silent",
    absWorkingDir: path.dirname(file),
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error(`esbuild produced nothing for ${file}`);
  return output.text;
}

/** Bundles and evaluates an entry file; returns its `module.exports`. */
export function loadProgram(file: string): ProgramExport {
  const absolute = path.resolve(file);
  if (!fs.existsSync(absolute)) throw new Error(`entry file not found: ${file}`);
  const code = bundle(absolute);
  process.setSourceMapsEnabled(true);
  // A fresh module with the entry's own path, so its bare imports resolve from its directory.
  const ModuleClass = Module as unknown as {
    new (id: string, parent?: unknown): { filename: string; paths: string[]; exports: unknown; _compile(code: string, filename: string): void };
    _nodeModulePaths(dir: string): string[];
  };
  const mod = new ModuleClass(absolute);
  mod.filename = absolute;
  // Bare imports resolve from the entry's directory first, then from this project's node_modules,
  // so any program (`plan --entry`) can be checked with the SDKs installed here.
  mod.paths = [...ModuleClass._nodeModulePaths(path.dirname(absolute)), ...ModuleClass._nodeModulePaths(projectRoot)];
  mod._compile(code, absolute);
  return mod.exports;
}
