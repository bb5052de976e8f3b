/**
 * The workflow hardening linter: the generic rules every GitHub Actions workflow of this repository
 * follows (least-privilege permissions, pinned actions, no expressions in scripts, OIDC instead of
 * keys, pulumi runs serialised and policy-checked, App tokens only where pulumi needs them), as
 * checks over a parsed workflow. Each check returns the problems it finds, one message each.
 * `node tools/build/lint-workflows.mts hardening` (a stage of `npm test`) runs auditWorkflow over
 * every workflow file there is, including ones a pull request adds; what each delivery workflow
 * does on each event is tested by simulating the event, in test/delivery/workflows-<workflow>.test.ts
 * (the checks: test/support/behaviour/).
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
/**
 * The only stored secrets: the GitHub App keys, each only as the private key of an App token step.
 * The deploy App's key is a secret of the protected environments and may be read only by a job in one.
 */
export const APP_KEY_SECRETS: Readonly<Record<string, { environment: boolean }>> = {
  DEPLOY_APP_PRIVATE_KEY: { environment: true },
  READER_APP_PRIVATE_KEY: { environment: false },
};
/** Write scopes a delivery job may hold, each only where the rules below allow it. */
export const WRITE_SCOPES_IN_USE = new Set(["id-token", "pull-requests", "issues", "actions"]);
export const PINNED = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_./-]+@[0-9a-f]{40}$/;
// A zizmor suppression may follow the version, when the workflow explains it next to the step.
export const VERSION_COMMENT = /#\s*v\d+\.\d+\.\d+(\s+#\s*zizmor: ignore\[[a-z-]+\])?\s*$/;

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

export function usesAction(step: Step, action: string): boolean {
  return typeof step.uses === "string" && step.uses.split("@")[0] === action;
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

// ---------------------------------------------------------------------------------------------
// Generic rules
// ---------------------------------------------------------------------------------------------

function checkTopLevelPermissions(workflow: Workflow): string[] {
  const grants = grantsOf(workflow.permissions);
  const exact = grants && typeof grants === "object" && Object.keys(grants).length === 1 && grants.contents === "read";
  return exact ? [] : [`permissions: expected exactly { contents: read } at the top level, got ${JSON.stringify(workflow.permissions ?? null)}`];
}

function checkTriggers(workflow: Workflow): string[] {
  return triggers(workflow).includes("pull_request_target")
    ? ["on: pull_request_target runs pull request code with a write token and secrets: use pull_request"]
    : [];
}

function checkJobPermissions(workflow: Workflow): string[] {
  const problems: string[] = [];
  const pullRequestTriggered = triggers(workflow).some((t) => t.startsWith("pull_request"));
  for (const [jobId, job] of jobsOf(workflow)) {
    const grants = grantsOf(job.permissions);
    const steps = stepsOf(job);
    const usesAws = steps.some((s) => usesAction(s, AWS_CREDENTIALS));
    const runsCode = steps.some((s) => typeof s.run === "string" || usesAction(s, "actions/checkout"));
    if (typeof grants === "string") {
      problems.push(`job ${jobId}: permissions: ${grants} instead of a list of scopes`);
      continue;
    }
    const writes = Object.entries(grants ?? {}).filter(([, level]) => level === "write").map(([scope]) => scope);
    for (const scope of writes) {
      if (!WRITE_SCOPES_IN_USE.has(scope)) problems.push(`job ${jobId}: ${scope}: write is needed by no delivery job`);
    }
    if (writes.includes("id-token") && !usesAws) problems.push(`job ${jobId}: id-token: write without an AWS credentials step`);
    if (usesAws && !writes.includes("id-token")) problems.push(`job ${jobId}: AWS credentials step without id-token: write`);
    for (const scope of ["pull-requests", "actions"]) {
      if (writes.includes(scope) && runsCode) {
        problems.push(`job ${jobId}: ${scope}: write in a job that runs repository code (checkout or run:)`);
      }
    }
    if (writes.includes("issues") && pullRequestTriggered) {
      problems.push(`job ${jobId}: issues: write in a workflow that pull requests trigger`);
    }
  }
  return problems;
}

function checkPins(workflow: Workflow, raw: string): string[] {
  const problems: string[] = [];
  const parsed: string[] = [];
  for (const [jobId, job] of jobsOf(workflow)) {
    if (typeof job.uses === "string") parsed.push(job.uses);
    stepsOf(job).forEach((step, index) => {
      if (typeof step.uses !== "string") return;
      parsed.push(step.uses);
      if (step.uses.startsWith("./")) return;
      if (!PINNED.test(step.uses)) {
        problems.push(`${stepLabel(jobId, step, index)}: uses ${step.uses} is not pinned to a full commit SHA`);
      }
    });
  }
  const lines = usesLines(raw);
  for (const { line, ref, comment } of lines) {
    if (!ref.startsWith("./") && !VERSION_COMMENT.test(comment)) {
      problems.push(`line ${line}: uses ${ref} has no "# vX.Y.Z" version comment`);
    }
  }
  if (lines.length !== parsed.length) {
    problems.push(`uses: ${parsed.length} references parsed but ${lines.length} written one per line as "uses: <ref> # vX.Y.Z"`);
  }
  return problems;
}

function checkScripts(workflow: Workflow): string[] {
  const problems: string[] = [];
  for (const [jobId, job] of jobsOf(workflow)) {
    stepsOf(job).forEach((step, index) => {
      const label = stepLabel(jobId, step, index);
      const script = usesAction(step, GITHUB_SCRIPT) ? step.with?.script : step.run;
      const where = usesAction(step, GITHUB_SCRIPT) ? "script:" : "run:";
      if (typeof script !== "string") return;
      for (const expression of script.match(/\$\{\{[\s\S]*?\}\}/g) ?? []) {
        problems.push(
          /\$\{\{\s*github\.(event|head_ref)/.test(expression)
            ? `${label}: untrusted ${expression} inside ${where} (pass it through env:)`
            : `${label}: ${expression} inside ${where} (pass values through env:)`,
        );
      }
      if (typeof step.run === "string") {
        for (const command of commandsOf(step.run)) {
          if (/(^|[\s;&|])(npm\s+(install|i|add)|yarn|pnpm)(\s|$)/.test(command)) {
            problems.push(`${label}: "${command}" instead of npm ci with the lockfile`);
          }
        }
      }
    });
  }
  return problems;
}

function checkSteps(workflow: Workflow): string[] {
  const problems: string[] = [];
  for (const [jobId, job] of jobsOf(workflow)) {
    const steps = stepsOf(job);
    steps.forEach((step, index) => {
      const label = stepLabel(jobId, step, index);
      if (usesAction(step, "actions/checkout") && step.with?.["persist-credentials"] !== false) {
        problems.push(`${label}: actions/checkout without persist-credentials: false`);
      }
      if (usesAction(step, "actions/setup-node")) {
        const file = step.with?.["node-version-file"];
        if (typeof file !== "string" || !/^([\w.-]+\/)*\.nvmrc$/.test(file) || step.with?.["node-version"] !== undefined) {
          problems.push(`${label}: actions/setup-node must take the version from node-version-file: .nvmrc`);
        }
      }
      if (usesAction(step, AWS_CREDENTIALS)) {
        if (step.with?.["aws-access-key-id"] !== undefined || step.with?.["aws-secret-access-key"] !== undefined) {
          problems.push(`${label}: static AWS keys instead of OIDC`);
        }
        if (typeof step.with?.["role-to-assume"] !== "string") problems.push(`${label}: no role-to-assume`);
      }
    });
    const installs = steps.some((s) => typeof s.run === "string" && commandsOf(s.run).some((c) => /^npm ci(\s|$)/.test(c)));
    if (steps.some((s) => usesAction(s, "actions/setup-node")) && !installs) {
      problems.push(`job ${jobId}: sets up Node but never runs npm ci`);
    }
    const timeout = job["timeout-minutes"];
    if (typeof timeout !== "number" || timeout <= 0 || timeout > 120) {
      problems.push(`job ${jobId}: timeout-minutes: expected 1 to 120, got ${JSON.stringify(timeout ?? null)}`);
    }
  }
  return problems;
}

export function concurrencyOf(value: unknown): Concurrency | undefined {
  if (typeof value === "string") return { group: value };
  if (value && typeof value === "object") return value;
  return undefined;
}

/** Commands of a job that run the Pulumi engine (`pulumi up` and `pulumi preview`). */
export function pulumiCommands(job: Job): string[] {
  return stepsOf(job)
    .flatMap((s) => (typeof s.run === "string" ? commandsOf(s.run) : []))
    .filter((c) => /^pulumi\s+(up|preview|refresh|destroy)\b/.test(c));
}

/** Where a job's policy config comes from: stack-settings of tools/ci/delivery (output policy-config). */
const POLICY_CONFIG_OUTPUT = "${{ steps.stack.outputs.policy-config }}";

function checkPulumi(workflow: Workflow): string[] {
  const problems: string[] = [];
  for (const [jobId, job] of jobsOf(workflow)) {
    const commands = pulumiCommands(job);
    if (commands.length === 0) continue;
    // A cancelled `up` (or a preview holding the lock) leaves the state bucket locked or pending.
    const concurrency = concurrencyOf(job.concurrency) ?? concurrencyOf(workflow.concurrency);
    if (!concurrency?.group?.includes("${{")) problems.push(`job ${jobId}: runs pulumi without a concurrency group per stack or pull request`);
    if (concurrency && concurrency["cancel-in-progress"] !== false) {
      problems.push(`job ${jobId}: runs pulumi with a concurrency group that may cancel it (cancel-in-progress must be false)`);
    }
    for (const command of commands) {
      const verb = command.split(" ").slice(0, 2).join(" ");
      if (/^pulumi\s+(refresh|destroy)\b/.test(command)) {
        problems.push(`job ${jobId}: ${verb} has no place in the delivery workflows`);
        continue;
      }
      if (!/--stack "\$STACK"/.test(command)) problems.push(`job ${jobId}: ${verb} without --stack "$STACK"`);
      // Drift checks compare state with the cloud only; every other preview and every up runs the pack.
      if (command.includes("--expect-no-changes")) continue;
      if (!/--policy-pack policies(\s|$)/.test(command)) problems.push(`job ${jobId}: ${verb} without --policy-pack policies`);
      // The config the stack runs with (its own, else its kind's) comes from its stack file, via stack-settings.
      if (!command.includes('--policy-pack-config "$POLICY_CONFIG"')) {
        problems.push(`job ${jobId}: ${verb} without --policy-pack-config "$POLICY_CONFIG"`);
      } else if (stepsOf(job).find((s) => typeof s.run === "string" && commandsOf(s.run).includes(command))?.env?.POLICY_CONFIG !== POLICY_CONFIG_OUTPUT) {
        problems.push(`job ${jobId}: ${verb}: POLICY_CONFIG must be ${POLICY_CONFIG_OUTPUT} (the stack's own policy config, else its kind's)`);
      }
    }
  }
  return problems;
}

/** Each `secrets.NAME` an expression inside `value` names. */
export function secretsIn(value: unknown): string[] {
  const text = typeof value === "string" ? value : JSON.stringify(value ?? "");
  return [...text.matchAll(/\$\{\{[^}]*?\bsecrets\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] ?? "");
}

function checkSecrets(workflow: Workflow, raw: string): string[] {
  const problems: string[] = [];
  const pullRequestTriggered = triggers(workflow).some((t) => t.startsWith("pull_request"));
  let allowed = 0;
  for (const [jobId, job] of jobsOf(workflow)) {
    stepsOf(job).forEach((step, index) => {
      const label = stepLabel(jobId, step, index);
      for (const [key, value] of Object.entries(step.with ?? {})) {
        for (const name of secretsIn(value)) {
          const known = APP_KEY_SECRETS[name];
          if (!known || !usesAction(step, APP_TOKEN) || key !== "private-key") {
            problems.push(`${label}: secrets.${name}: the only stored secrets are the GitHub App keys, as the private-key of ${APP_TOKEN}`);
          } else if (known.environment && typeof job.environment !== "string") {
            problems.push(`${label}: secrets.${name} is a secret of the protected environments: the job needs environment:`);
          } else {
            allowed += 1;
          }
        }
      }
    });
  }
  const total = secretsIn(raw).length;
  if (total > 0 && pullRequestTriggered) problems.push("secrets: a workflow that pull requests trigger holds no stored secret");
  else if (total !== allowed && problems.length === 0) {
    problems.push(`secrets: ${total - allowed} reference(s) outside the private-key of ${APP_TOKEN} (OIDC, the workflow token and App tokens only)`);
  }
  return problems;
}

/**
 * The App token reaches only the GITHUB_TOKEN of steps that run pulumi, or the github-token of a
 * github-script in a job that runs no repository code, in its own job.
 */
function checkAppTokens(workflow: Workflow): string[] {
  const problems: string[] = [];
  const pullRequestTriggered = triggers(workflow).some((t) => t.startsWith("pull_request"));
  for (const [jobId, job] of jobsOf(workflow)) {
    const steps = stepsOf(job);
    const minted = steps.filter((step) => usesAction(step, APP_TOKEN));
    if (minted.length > 0 && pullRequestTriggered) problems.push(`job ${jobId}: mints a GitHub App token in a workflow that pull requests trigger`);
    for (const app of minted) {
      if (!app.id) {
        problems.push(`job ${jobId}: the ${APP_TOKEN} step needs an id`);
        continue;
      }
      const output = `steps.${app.id}.outputs.token`;
      steps.forEach((step, index) => {
        const refs = Object.entries({ ...(step.env ?? {}), ...(step.with ?? {}) }).filter(([, value]) => String(value).includes(output));
        if (refs.length === 0) return;
        const runsPulumi = typeof step.run === "string" && /(^|\n)\s*pulumi (up|preview) /.test(step.run);
        const onlyAsToken = refs.every(([key, value]) => key === "GITHUB_TOKEN" && value === `\${{ ${output} }}`) && (step.env?.GITHUB_TOKEN !== undefined);
        const runsNoCode = !steps.some((s) => typeof s.run === "string" || usesAction(s, "actions/checkout"));
        const asScriptToken = usesAction(step, GITHUB_SCRIPT) && runsNoCode && refs.every(([key, value]) => key === "github-token" && value === `\${{ ${output} }}`);
        if (!(runsPulumi && onlyAsToken) && !asScriptToken) {
          problems.push(`${stepLabel(jobId, step, index)}: the App token may only be the GITHUB_TOKEN of a step that runs pulumi, or the github-token of a github-script in a job that runs no code`);
        }
      });
    }
  }
  return problems;
}

/** Every generic problem of one workflow file, in a stable order. */
export function auditWorkflow(raw: string): string[] {
  const workflow = parseWorkflow(raw);
  return [
    ...checkTopLevelPermissions(workflow),
    ...checkTriggers(workflow),
    ...checkJobPermissions(workflow),
    ...checkPins(workflow, raw),
    ...checkScripts(workflow),
    ...checkSteps(workflow),
    ...checkPulumi(workflow),
    ...checkSecrets(workflow, raw),
    ...checkAppTokens(workflow),
  ];
}
