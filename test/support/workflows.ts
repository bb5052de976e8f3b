/** Workflow files of .github/workflows read, parsed and bent for the workflow tests. */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseWorkflow, type Workflow } from "../../tools/build/workflow-hardening.mts";

export const root = path.resolve(__dirname, "..", "..");
export const workflowDir = path.join(root, ".github", "workflows");

export function raw(file: string): string {
  return fs.readFileSync(path.join(workflowDir, file), "utf8");
}

export function workflow(file: string): Workflow {
  return parseWorkflow(raw(file));
}

export const REMOVE = Symbol("remove");
export type Key = string | number;
export type Edit = [path: Key[], value: unknown];

/**
 * A copy of a workflow with a few things broken: each edit sets the value at a path (a function gets
 * the old value), or removes it (REMOVE).
 */
export function broken(file: string, ...edits: Edit[]): Workflow {
  const copy = structuredClone(workflow(file)) as unknown as Record<Key, unknown>;
  for (const [keys, value] of edits) {
    let node = copy;
    for (const key of keys.slice(0, -1)) node = node[key] as Record<Key, unknown>;
    const last = keys[keys.length - 1] ?? "";
    const next = typeof value === "function" ? (value as (old: unknown) => unknown)(node[last]) : value;
    if (next === REMOVE) delete node[last];
    else node[last] = next;
  }
  return copy;
}

/** The index of a job's step by name, for edits. */
export function step(file: string, jobId: string, name: string): number {
  const index = workflow(file).jobs?.[jobId]?.steps?.findIndex((s) => s.name === name) ?? -1;
  if (index < 0) throw new Error(`${file} ${jobId}: no step ${name}`);
  return index;
}

export const replaced = (from: string, to: string) => (old: unknown) => String(old).replace(from, to);
