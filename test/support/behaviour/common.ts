/**
 * What the per-workflow behaviour checks share: events named as a reader would say them, the jobs
 * and steps picked by what they do (not by id or name, so a refactor of a workflow that keeps its
 * behaviour keeps its checks green), and the symbols of values only a run knows.
 */
import * as path from "node:path";
import { readEnvironments, type Environments } from "../../../components/config/environments";
import { commands, simulate, unknown, type Event, type JobRun, type Run, type SimOptions, type StepRun } from "../workflow-sim";
import { triggers, type Workflow } from "../../../tools/build/workflow-hardening.mts";

export const REPOSITORY = "acme-corp/gitops-platform";
export const REPOSITORY_NAME = "gitops-platform";
export const DEFAULT_BRANCH = "main";

/** The environments of this repository's stack files. */
export function repoEnvironments(rootDir: string = path.resolve(__dirname, "..", "..", "..")): Environments {
  return readEnvironments(rootDir);
}

/** An event as the messages name it. */
export function describeEvent(event: Event): string {
  switch (event.name) {
    case "push":
      return event.tag !== undefined ? `push of tag ${event.tag}` : `push to ${event.branch ?? DEFAULT_BRANCH}`;
    case "pull_request":
      return `${event.fork ? "fork " : ""}pull request ${event.head !== undefined ? `from ${event.head} ` : ""}into ${event.base}${event.action !== undefined && event.action !== "opened" ? ` (${event.action})` : ""}`;
    case "schedule":
      return `schedule on ${event.branch ?? DEFAULT_BRANCH}`;
    case "workflow_dispatch":
      return `dispatch on ${event.branch ?? DEFAULT_BRANCH}${event.inputs ? ` ${JSON.stringify(event.inputs)}` : ""}`;
  }
}

export function run(workflow: Workflow, event: Event, options: SimOptions = {}): Run {
  return simulate(workflow, event, { repository: REPOSITORY, defaultBranch: DEFAULT_BRANCH, ...options });
}

/** Whether a command starts with these words. */
export function startsWith(command: readonly string[], ...words: string[]): boolean {
  return words.every((w, i) => command[i] === w);
}

/** The jobs that run a command starting with these words. */
export function jobsRunning(r: Run, ...words: string[]): JobRun[] {
  return r.jobs.filter((j) => commands(j).some((c) => startsWith(c, ...words)));
}

/** The command of a job that starts with these words. */
export function commandOf(job: JobRun | undefined, ...words: string[]): readonly string[] | undefined {
  return job ? commands(job).find((c) => startsWith(c, ...words)) : undefined;
}

/** The step of a job that runs a command starting with these words. */
export function stepOf(job: JobRun | undefined, ...words: string[]): StepRun | undefined {
  return job?.steps.find((s) => s.commands.some((c) => startsWith(c, ...words)));
}

/** Whether a command runs the delivery runtime's subcommand (`node <…>tools/ci/delivery/main.mts <sub>`), from any checkout path. */
function isDelivery(command: readonly string[], subcommand: string): boolean {
  return command[0] === "node" && (command[1] ?? "").endsWith("tools/ci/delivery/main.mts") && command[2] === subcommand;
}

/** The delivery runtime command a job runs (e.g. `stack-settings`), and its step. */
export function delivery(job: JobRun | undefined, subcommand: string): { command?: readonly string[]; step?: StepRun } {
  const step = job?.steps.find((s) => s.commands.some((c) => isDelivery(c, subcommand)));
  const command = step?.commands.find((c) => isDelivery(c, subcommand));
  return { ...(command ? { command } : {}), ...(step ? { step } : {}) };
}

/** Whether any value a step gets is a secret. */
export function secretsOf(job: JobRun): string[] {
  return job.steps.flatMap((s) => [...Object.values(s.env), ...Object.values(s.with), s.script ?? ""].filter((v) => v.includes("⟨secrets.")));
}

/** The steps of a job that use an action (any ref). */
export function actionSteps(job: JobRun | undefined, action: string): StepRun[] {
  return job ? job.steps.filter((s) => s.action === action) : [];
}

/** The symbol of a step's output; undefined when the step has no id (nothing can read its outputs). */
export function outputOf(step: StepRun | undefined, name: string): string | undefined {
  return step?.id !== undefined ? unknown(`steps.${step.id}.outputs.${name}`) : undefined;
}

/** The value of an option in shell words (`--stack x` → `x`). */
export function optionOf(command: readonly string[] | undefined, name: string): string | undefined {
  const at = command ? command.indexOf(name) : -1;
  return at >= 0 ? command?.[at + 1] : undefined;
}

/** A job token's permissions, as a message shows them. */
export function grants(job: JobRun): string {
  return typeof job.permissions === "string" ? job.permissions : JSON.stringify(job.permissions);
}

/** Whether a job's token has exactly these permissions. */
export function hasExactly(job: JobRun, expected: Record<string, string>): boolean {
  return typeof job.permissions === "object" && JSON.stringify(Object.entries(job.permissions).sort()) === JSON.stringify(Object.entries(expected).sort());
}

export const APP_TOKEN = "actions/create-github-app-token";
export const AWS_CREDENTIALS = "aws-actions/configure-aws-credentials";
export const GITHUB_SCRIPT = "actions/github-script";
export const CHECKOUT = "actions/checkout";

/** The App token steps of a job minted from this App (its client id variable and key secret). */
export function appTokenSteps(job: JobRun | undefined, clientIdVariable: string, keySecret: string): StepRun[] {
  return actionSteps(job, APP_TOKEN).filter((s) => s.with["client-id"] === unknown(`vars.${clientIdVariable}`) && s.with["private-key"] === unknown(`secrets.${keySecret}`));
}

/** The `permission-*` inputs of an App token step: what it narrows the token to. */
export function narrowedTo(step: StepRun): Record<string, string> {
  return Object.fromEntries(
    Object.entries(step.with)
      .filter(([k]) => k.startsWith("permission-"))
      .map(([k, v]) => [k.slice("permission-".length), v]),
  );
}

/** Where a token output is handed on: `env NAME of step S` or `input NAME of step S`, for every place. */
export function tokenUses(job: JobRun, token: string): string[] {
  return job.steps.flatMap((s) => [
    ...Object.entries(s.env).filter(([, v]) => v.includes(token)).map(([k]) => `env ${k} of step ${s.name}`),
    ...Object.entries(s.with).filter(([, v]) => v.includes(token)).map(([k]) => `input ${k} of step ${s.name}`),
  ]);
}

/**
 * The triggers that start a workflow besides the events its behaviour check covers (the simulator
 * models a few events only: any other trigger would start the workflow unchecked), one message each.
 */
export function otherTriggers(workflow: Workflow, covered: readonly string[]): string[] {
  return triggers(workflow)
    .filter((t) => !covered.includes(t))
    .map((t) => `on: ${t} starts it too; only ${covered.join(" and ")} may (what else starts it is not checked)`);
}

/** The actions a job uses besides these: in a job holding a write token, each one is code that token reaches. */
export function actionsBesides(job: JobRun, ...allowed: string[]): string[] {
  return [...new Set(job.steps.flatMap((s) => (s.action !== undefined && !allowed.includes(s.action) ? [s.action] : [])))];
}

/** Whether a failure of this step fails its job: no continue-on-error, no `set +e` or `||`, and pipefail (`shell: bash`) when it pipes. */
export function failsItsJob(step: StepRun | undefined): boolean {
  if (!step || step.continueOnError) return false;
  const script = step.script ?? "";
  if (/\bset\s+\+e\b|\|\|/.test(script)) return false;
  return !/(^|[^|])\|([^|]|$)/.test(script) || (step.shell ?? "").includes("pipefail");
}
