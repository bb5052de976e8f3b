/**
 * What a workflow does on a given event, worked out the way GitHub Actions does it, so the
 * per-workflow tests assert behaviour (which jobs run, in which environment, with which token
 * permissions, and which commands with which arguments) instead of comparing the YAML's strings.
 *
 * Expressions are evaluated by @actions/expressions, GitHub's own evaluator (the one its language
 * services use). What only a run knows (a step's outputs, secrets, variables, the job token) is a
 * symbol naming its source, e.g. `⟨steps.stack.outputs.role-arn⟩`, so a test can follow where a
 * value comes from without inventing it; a job's outputs can be given by the test instead, as the
 * command behind them would print them.
 *
 * Modelled: trigger filters (branches, tags, paths, pull_request activity types), workflow and job
 * `if` with the status functions over the whole chain of needs, `needs` (a job whose need did not
 * succeed is skipped unless its `if` asks for a status; continue-on-error counts as success),
 * matrices (lists, expressions, `exclude` and `include`; an empty axis fails the job), effective
 * permissions (an unset token is the repository's default), environments,
 * concurrency, env inheritance (workflow → job → step) and the shell words of each `run` line with
 * env variables expanded (shell-quote). Not modelled: reusable workflows, events other than push,
 * pull_request, schedule and workflow_dispatch, services, containers.
 */
import type { data } from "@actions/expressions";
import type { Job, Step, Workflow } from "../../tools/build/workflow-hardening.mts";
import { dispatchDefaults, githubContext, triggered, type Event } from "./workflow-sim/events";
import { Unknowns, condition, deepInterpolate, dictionary, interpolate, interpolateAll, statusFunctions, stepsContext, toData, unknown, type Functions } from "./workflow-sim/expressions";
import { scriptCommands } from "./workflow-sim/shell";

export type { Event } from "./workflow-sim/events";
export { unknown } from "./workflow-sim/expressions";

export interface SimOptions {
  readonly repository?: string;
  readonly defaultBranch?: string;
  /** Jobs' outputs as their steps would produce them; any other output stays a symbol. */
  readonly outputs?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Jobs that fail (their dependants are skipped unless they ask for a status). */
  readonly failing?: readonly string[];
  /** Evaluate every step's `if:` as after a failed earlier step: what runs then. */
  readonly afterFailure?: boolean;
}

export interface StepRun {
  readonly index: number;
  readonly name: string;
  readonly id?: string;
  /** The action without its ref, e.g. `actions/checkout`. */
  readonly action?: string;
  readonly with: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string>>;
  /** The script with its expressions evaluated (none should be there: the hardening linter). */
  readonly script?: string;
  /** Every simple command of the script (and of its `$(...)`), as shell words with env expanded. */
  readonly commands: readonly (readonly string[])[];
  readonly workingDirectory?: string;
  /**
   * The command line GitHub runs a `run:` script with (docs.github.com, "Workflow syntax",
   * `jobs.<job_id>.steps[*].shell`): `shell: bash` gets `-eo pipefail`, an unset shell on Linux only
   * `bash -e`, so a failure before a `| tee` goes unnoticed there.
   */
  readonly shell?: string;
  /** `continue-on-error`: its failure does not fail the job. */
  readonly continueOnError: boolean;
}

export interface JobRun {
  readonly id: string;
  readonly name: string;
  readonly matrix: Readonly<Record<string, unknown>>;
  readonly environment?: string;
  /** The permissions of its GITHUB_TOKEN: the job's own, else the workflow's. */
  readonly permissions: Readonly<Record<string, string>> | string;
  readonly concurrency?: { readonly group: string; readonly cancelInProgress: boolean };
  readonly env: Readonly<Record<string, string>>;
  readonly outputs: Readonly<Record<string, string>>;
  readonly needs: readonly string[];
  /** The steps that run, in order. */
  readonly steps: readonly StepRun[];
  /** The names of the steps its `if:`s skip. */
  readonly skipped: readonly string[];
}

export interface Run {
  /** Whether the event starts the workflow at all. */
  readonly triggered: boolean;
  readonly concurrency?: { readonly group: string; readonly cancelInProgress: boolean };
  /** The jobs (one per matrix combination) that run. */
  readonly jobs: readonly JobRun[];
  /** The ids of the jobs that do not run. */
  readonly skipped: readonly string[];
  /** Jobs that fail before they start (a matrix that does not evaluate), with the reason. */
  readonly errors: readonly string[];
}

/** The jobs of a run with this id (one per matrix combination). */
export function jobs(run: Run, id: string): JobRun[] {
  return run.jobs.filter((j) => j.id === id);
}

/** The one job of a run with this id; throws if it did not run or runs more than once. */
export function job(run: Run, id: string): JobRun {
  const found = jobs(run, id);
  if (found.length !== 1) throw new Error(`job ${id} ran ${found.length} times (ran: ${run.jobs.map((j) => j.id).join(", ") || "none"})`);
  return found[0] as JobRun;
}

/** Every command the job runs, across its steps. */
export function commands(run: JobRun): (readonly string[])[] {
  return run.steps.flatMap((s) => s.commands);
}

/** The step that runs a command starting with these words, if any. */
export function stepRunning(run: JobRun, ...words: string[]): StepRun | undefined {
  return run.steps.find((s) => s.commands.some((c) => words.every((w, i) => c[i] === w)));
}

/** The value of an option in shell words (`--stack x` → `x`). */
export function option(command: readonly string[], name: string): string | undefined {
  const at = command.indexOf(name);
  return at >= 0 ? command[at + 1] : undefined;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

// GitHub's matrix (docs.github.com, "Running variations of jobs in a workflow"): the axes' product,
// minus every combination an `exclude` entry partly matches; then each `include` entry extends every
// original combination whose original values it does not overwrite (an entry of new keys only
// extends them all), or else is a combination of its own. An axis with no values fails the job
// ("Matrix vector '<axis>' does not contain any values").
function matrixCombinations(matrix: unknown): Record<string, unknown>[] {
  if (matrix === undefined) return [{}];
  if (!matrix || typeof matrix !== "object" || Array.isArray(matrix)) throw new Error(`a matrix must be a mapping, got ${JSON.stringify(matrix)}`);
  const { include, exclude, ...axes } = matrix as Record<string, unknown>;
  let combos: Record<string, unknown>[] = Object.keys(axes).length > 0 ? [{}] : [];
  for (const [key, values] of Object.entries(axes)) {
    if (!Array.isArray(values)) throw new Error(`matrix ${key}: expected a list, got ${JSON.stringify(values)}`);
    if (values.length === 0) throw new Error(`Matrix vector '${key}' does not contain any values`);
    combos = combos.flatMap((c) => values.map((v: unknown) => ({ ...c, [key]: v })));
  }
  for (const entry of (exclude ?? []) as Record<string, unknown>[]) {
    combos = combos.filter((c) => !Object.entries(entry).every(([k, v]) => same(c[k], v)));
  }
  const originals = combos.map((c) => ({ combination: c, original: { ...c } }));
  for (const entry of (include ?? []) as Record<string, unknown>[]) {
    const extendable = originals.filter(({ original }) => Object.entries(entry).every(([k, v]) => !(k in original) || same(original[k], v)));
    if (extendable.length > 0) for (const { combination } of extendable) Object.assign(combination, entry);
    else combos.push({ ...entry });
  }
  return combos;
}

type Defaults = { defaults?: { run?: { shell?: unknown } } };
const SHELLS: Record<string, string> = { bash: "bash --noprofile --norc -eo pipefail {0}", sh: "sh -e {0}", python: "python {0}", pwsh: "pwsh -command \". '{0}'\"" };

function shellOf(step: Step, job: Job, workflow: Workflow): string {
  const chosen = (step as { shell?: unknown }).shell ?? (job as Defaults).defaults?.run?.shell ?? (workflow as Defaults).defaults?.run?.shell;
  if (chosen === undefined) return "bash -e {0}";
  const name = typeof chosen === "string" ? chosen : JSON.stringify(chosen);
  return SHELLS[name] ?? name;
}

function listOf(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((v: unknown) => (typeof v === "string" ? v : JSON.stringify(v)));
}

function concurrencyOf(value: unknown, context: data.Dictionary, functions: Functions): JobRun["concurrency"] {
  if (value === undefined) return undefined;
  if (typeof value === "string") return { group: String(interpolate(value, context, functions)), cancelInProgress: false };
  const c = value as { group?: unknown; "cancel-in-progress"?: unknown };
  const cancel = interpolate(c["cancel-in-progress"] ?? false, context, functions);
  return { group: String(interpolate(c.group, context, functions)), cancelInProgress: cancel === true || cancel === "true" };
}

/** What a token gets when neither the job nor the workflow says: the repository's (or organisation's) setting, possibly write-all. */
export const DEFAULT_PERMISSIONS = "the repository's default";

function permissionsOf(value: unknown): JobRun["permissions"] {
  if (value === undefined || value === null) return DEFAULT_PERMISSIONS;
  if (typeof value === "string") return value;
  return Object.fromEntries(Object.entries((value ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

/** What the workflow does on the event. */
export function simulate(workflow: Workflow, event: Event, options: SimOptions = {}): Run {
  const repository = options.repository ?? "acme-corp/gitops-platform";
  const defaultBranch = options.defaultBranch ?? "main";
  if (!triggered(workflow, event, defaultBranch)) return { triggered: false, jobs: [], skipped: Object.keys(workflow.jobs ?? {}), errors: [] };
  const github = githubContext(event, repository, defaultBranch);
  const inputs = event.name === "workflow_dispatch" ? { ...dispatchDefaults(workflow), ...(event.inputs ?? {}) } : {};
  const base = { github, inputs, runner: { os: "Linux", temp: unknown("runner.temp") } };
  const baseContext = (extra: Record<string, unknown>): data.Dictionary => {
    const d = dictionary({ ...base, ...extra });
    d.add("vars", new Unknowns("vars"));
    d.add("secrets", new Unknowns("secrets"));
    return d;
  };
  const none = statusFunctions({ success: true, failure: false });
  const stepStatus = options.afterFailure ? statusFunctions({ success: false, failure: true }) : none;
  // The variables the runner sets for every step (docs.github.com, "Default environment variables").
  const runnerEnv: Record<string, string> = {
    GITHUB_REPOSITORY: repository,
    GITHUB_SERVER_URL: "https://github.com",
    GITHUB_EVENT_NAME: event.name,
    GITHUB_REF_NAME: String(github.ref_name),
    GITHUB_SHA: unknown("github.sha"),
    GITHUB_RUN_ID: unknown("github.run_id"),
    GITHUB_WORKSPACE: unknown("github.workspace"),
    RUNNER_TEMP: unknown("runner.temp"),
    GITHUB_OUTPUT: unknown("GITHUB_OUTPUT"),
    GITHUB_STEP_SUMMARY: unknown("GITHUB_STEP_SUMMARY"),
  };
  const workflowContext = baseContext({});
  const workflowEnv = interpolateAll((workflow as { env?: Record<string, unknown> }).env, workflowContext, none);

  const results = new Map<string, { ran: boolean; succeeded: boolean; outputs: Record<string, string> }>();
  // A job's status functions look at every job up its chain of needs, not only its own needs: a
  // job skipped or failed two hops up skips it too unless its `if` asks for a status.
  const ancestors = (id: string, seen = new Set<string>()): Set<string> => {
    for (const n of listOf(workflow.jobs?.[id]?.needs)) if (!seen.has(n)) ancestors(n, seen.add(n));
    return seen;
  };
  const runs: JobRun[] = [];
  const skipped: string[] = [];
  const errors: string[] = [];
  const pending = Object.entries(workflow.jobs ?? {});
  while (pending.length > 0) {
    const index = pending.findIndex(([, j]) => listOf(j.needs).every((n) => results.has(n)));
    if (index < 0) throw new Error(`jobs ${pending.map(([id]) => id).join(", ")} need jobs that never finish`);
    const [id, definition] = pending.splice(index, 1)[0] as [string, Job];
    const needs = listOf(definition.needs);
    const needsContext = Object.fromEntries(
      needs.map((n) => {
        const r = results.get(n);
        return [n, { result: r?.ran ? (r.succeeded ? "success" : "failure") : "skipped", outputs: r?.outputs ?? {} }];
      }),
    );
    const chain = [...ancestors(id)];
    const allSucceeded = chain.every((n) => results.get(n)?.ran && results.get(n)?.succeeded);
    const functions = statusFunctions({ success: allSucceeded, failure: chain.some((n) => results.get(n)?.ran && !results.get(n)?.succeeded) });
    const jobContext = baseContext({ needs: needsContext });
    if (!condition(definition.if, "success()", jobContext, functions)) {
      skipped.push(id);
      results.set(id, { ran: false, succeeded: false, outputs: {} });
      continue;
    }
    const strategy = definition.strategy as { matrix?: unknown } | undefined;
    let combinations: Record<string, unknown>[];
    try {
      combinations = matrixCombinations(deepInterpolate(strategy?.matrix, jobContext, functions));
    } catch (error) {
      // GitHub fails such a job before it starts (e.g. fromJSON of a value that is no JSON).
      errors.push(`job ${id}: ${(error as Error).message}`);
      skipped.push(id);
      results.set(id, { ran: false, succeeded: false, outputs: {} });
      continue;
    }
    const outputs: Record<string, string> = {};
    for (const combination of combinations) {
      const context = baseContext({ needs: needsContext, matrix: combination });
      const jobEnv = { ...workflowEnv, ...interpolateAll(definition.env, context, functions) };
      context.add("env", toData(jobEnv));
      context.add("steps", stepsContext(definition));
      const environment = definition.environment;
      const environmentName = typeof environment === "object" && environment ? (environment as { name?: unknown }).name : environment;
      const steps: StepRun[] = [];
      const skippedSteps: string[] = [];
      (definition.steps ?? []).forEach((step: Step, index) => {
        const stepContext = baseContext({ needs: needsContext, matrix: combination });
        stepContext.add("steps", stepsContext(definition));
        stepContext.add("env", toData(jobEnv));
        const label = step.name ?? step.uses ?? `step ${index}`;
        if (!condition(step.if, "success()", stepContext, stepStatus)) {
          skippedSteps.push(label);
          return;
        }
        const env = { ...jobEnv, ...interpolateAll(step.env, stepContext, none) };
        stepContext.add("env", toData(env));
        const script = typeof step.run === "string" ? String(interpolate(step.run, stepContext, none)) : undefined;
        const run: StepRun = {
          index,
          name: label,
          ...(step.id !== undefined ? { id: step.id } : {}),
          // Owner and repository names are case-insensitive on GitHub: `Actions/Checkout` is checkout.
          ...(step.uses !== undefined ? { action: step.uses.split("@")[0]?.toLowerCase() } : {}),
          with: interpolateAll(step.with, stepContext, none),
          env,
          ...(script !== undefined ? { script } : {}),
          commands: script !== undefined ? scriptCommands(script, env, runnerEnv) : [],
          ...(step["working-directory"] !== undefined ? { workingDirectory: step["working-directory"] } : {}),
          ...(script !== undefined ? { shell: shellOf(step, definition, workflow) } : {}),
          continueOnError: [true, "true"].includes(interpolate((step as { "continue-on-error"?: unknown })["continue-on-error"] ?? false, stepContext, none) as never),
        };
        steps.push(run);
      });
      Object.assign(outputs, interpolateAll(definition.outputs, context, none), options.outputs?.[id] ?? {});
      const concurrency = concurrencyOf(definition.concurrency, context, functions);
      runs.push({
        id,
        name: definition.name !== undefined ? String(interpolate(definition.name, context, functions)) : id,
        matrix: combination,
        ...(environmentName !== undefined ? { environment: String(interpolate(environmentName, context, functions)) } : {}),
        permissions: permissionsOf(definition.permissions ?? workflow.permissions),
        ...(concurrency ? { concurrency } : {}),
        env: jobEnv,
        outputs,
        needs,
        steps,
        skipped: skippedSteps,
      });
    }
    // A job with continue-on-error that fails counts as a success for its dependants: `needs.<id>.result`
    // is its conclusion, success (actions/toolkit#581, as documented for steps' outcome and conclusion).
    const tolerated = [true, "true"].includes(interpolate((definition as { "continue-on-error"?: unknown })["continue-on-error"] ?? false, jobContext, functions) as never);
    results.set(id, { ran: true, succeeded: tolerated || !(options.failing ?? []).includes(id), outputs });
  }
  const concurrency = concurrencyOf(workflow.concurrency, workflowContext, none);
  return { triggered: true, ...(concurrency ? { concurrency } : {}), jobs: runs, skipped, errors };
}
