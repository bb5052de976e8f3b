/**
 * GitHub Actions workflows as the workflow linter reads them: the parsed shape, the actions it
 * knows by name, and the small readers its rules and the per-workflow tests share (triggers, jobs,
 * steps, grants, shell commands, `uses:` lines).
 */
import { load } from "js-yaml";

export interface Step {
  readonly id?: string;
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly if?: string | boolean;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, unknown>;
  readonly "working-directory"?: string;
}

export interface Concurrency {
  readonly group?: string;
  readonly "cancel-in-progress"?: unknown;
}

export interface Job {
  readonly name?: string;
  readonly if?: string | boolean;
  readonly "runs-on"?: unknown;
  readonly "timeout-minutes"?: unknown;
  readonly permissions?: unknown;
  readonly environment?: unknown;
  readonly concurrency?: unknown;
  readonly strategy?: { readonly matrix?: Record<string, unknown> };
  readonly env?: Record<string, unknown>;
  readonly needs?: unknown;
  readonly outputs?: Record<string, unknown>;
  readonly uses?: string;
  readonly steps?: readonly Step[];
}

export interface Workflow {
  readonly name?: string;
  readonly on?: unknown;
  readonly permissions?: unknown;
  readonly concurrency?: unknown;
  readonly jobs?: Record<string, Job>;
}

export function parseWorkflow(raw: string): Workflow {
  const doc = load(raw);
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw new Error("a workflow must be a YAML mapping");
  return doc;
}

export const AWS_CREDENTIALS = "aws-actions/configure-aws-credentials";
export const GITHUB_SCRIPT = "actions/github-script";
export const APP_TOKEN = "actions/create-github-app-token";
/** Trigger names of `on:`, whatever its form (string, list or mapping). */
export function triggers(workflow: Workflow): string[] {
  const on = workflow.on;
  if (typeof on === "string") return [on];
  if (Array.isArray(on)) return on.map(String);
  if (on && typeof on === "object") return Object.keys(on);
  return [];
}

export function jobsOf(workflow: Workflow): [string, Job][] {
  return Object.entries(workflow.jobs ?? {});
}

export function stepsOf(job: Job): Step[] {
  return [...(job.steps ?? [])];
}

/** Whether a step uses this action; owner and repository names are case-insensitive on GitHub (`Actions/Checkout` is checkout). */
export function usesAction(step: Step, action: string): boolean {
  return typeof step.uses === "string" && step.uses.split("@")[0]?.toLowerCase() === action.toLowerCase();
}

export function stepLabel(jobId: string, step: Step, index: number): string {
  return `job ${jobId} step ${index + 1}${step.name ? ` (${step.name})` : ""}`;
}

/** A job's grants as scope -> level; a string (read-all, write-all) is returned as is. */
export function grantsOf(permissions: unknown): Record<string, string> | string | undefined {
  if (permissions === undefined) return undefined;
  if (typeof permissions === "string") return permissions;
  if (permissions && typeof permissions === "object") {
    return Object.fromEntries(Object.entries(permissions).map(([scope, level]) => [scope, String(level)]));
  }
  return JSON.stringify(permissions);
}

/** Commands of a shell script, backslash continuations joined. */
export function commandsOf(script: string): string[] {
  return script
    .replace(/\\\n\s*/g, " ")
    .split("\n")
    .map((line) => line.replace(/[ \t]+/g, " ").trim())
    .filter((line) => line.length > 0 && !line.startsWith("#"));
}

/** The `uses:` references written in the raw text, with their line numbers and trailing comments. */
export function usesLines(raw: string): { line: number; ref: string; comment: string }[] {
  const found: { line: number; ref: string; comment: string }[] = [];
  raw.split("\n").forEach((text, index) => {
    const match = /^\s*(?:-\s+)?uses:\s*["']?([^\s"'#]+)["']?\s*(#.*)?$/.exec(text);
    if (match) found.push({ line: index + 1, ref: match[1] ?? "", comment: match[2] ?? "" });
  });
  return found;
}
