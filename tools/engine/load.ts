/**
 * Loads a Pulumi program's entry file (TypeScript or JavaScript) in this process: bundled with
 * esbuild (cached, see tools/bundle.cjs) and evaluated anew on every run.
 */
import { loadBundled } from "../bundle.cjs";

/** What an entry module exports: a function (the program) or its outputs. */
export type ProgramExport = unknown;

/** Bundles and evaluates an entry file; returns its `module.exports`. */
export function loadProgram(file: string): ProgramExport {
  return loadBundled(file);
}
