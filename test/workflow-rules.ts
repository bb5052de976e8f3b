/**
 * The delivery hardening of ../shared SECURITY.md, as checks over a parsed GitHub Actions workflow.
 * Each check returns the problems it finds, one message each, so tests assert on the exact message and
 * on small bad fixtures. Generic rules apply to every workflow (auditWorkflow); the per-workflow rules
 * pin what each delivery workflow must do.
 */
import * as path from "node:path";
import { load } from "js-yaml";
import { readEnvironments, type Environments } from "../components/config/environments";
import { generatedLists } from "../tools/environments";

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

const AWS_CREDENTIALS = "aws-actions/configure-aws-credentials";
const GITHUB_SCRIPT = "actions/github-script";
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
const WRITE_SCOPES_IN_USE = new Set(["id-token", "pull-requests", "issues", "actions"]);
const PINNED = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_./-]+@[0-9a-f]{40}$/;
// A zizmor suppression may follow the version, when the workflow explains it next to the step.
const VERSION_COMMENT = /#\s*v\d+\.\d+\.\d+(\s+#\s*zizmor: ignore\[[a-z-]+\])?\s*$/;

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

function stepsOf(job: Job): Step[] {
  return [...(job.steps ?? [])];
}

function usesAction(step: Step, action: string): boolean {
  return typeof step.uses === "string" && step.uses.split("@")[0] === action;
}

function stepLabel(jobId: string, step: Step, index: number): string {
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

function concurrencyOf(value: unknown): Concurrency | undefined {
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

/** Where a job's policy config comes from: `delivery.cjs stack-settings` (output policy-config). */
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
function secretsIn(value: unknown): string[] {
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

// ---------------------------------------------------------------------------------------------
// Per-workflow rules
// ---------------------------------------------------------------------------------------------

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function onEvent(workflow: Workflow, event: string): Record<string, unknown> | undefined {
  const on = workflow.on;
  if (!on || typeof on !== "object" || Array.isArray(on) || !(event in on)) return undefined;
  const value = (on as Record<string, unknown>)[event];
  return value && typeof value === "object" ? (value as Record<string, unknown>) : {};
}

function findStep(job: Job | undefined, predicate: (step: Step) => boolean): Step | undefined {
  return job ? stepsOf(job).find(predicate) : undefined;
}

/** The environments of this repository's stack files (components/config/environments.ts). */
export function repoEnvironments(rootDir: string = path.resolve(__dirname, "..")): Environments {
  return readEnvironments(rootDir);
}

/** The environment branches, in promotion order. */
function stackBranches(envs: Environments): string[] {
  return envs.list.map((e) => e.stack);
}

/** A generated list as the workflows' `fromJSON('...')` literals spell it. */
function jsonList(envs: Environments, name: string): string {
  return JSON.stringify(generatedLists(envs)[name]);
}

/** preview.yml: pull requests to the environment branches, the `preview` check, fork handling, one comment. */
export function previewRules(workflow: Workflow, envs: Environments = repoEnvironments()): string[] {
  const problems: string[] = [];
  const branches = stackBranches(envs);
  const pr = onEvent(workflow, "pull_request");
  if (!pr || !same(pr.branches, branches)) problems.push(`on: expected pull_request to branches [${branches.join(", ")}]`);
  const dispatch = onEvent(workflow, "workflow_dispatch");
  const inputs = (dispatch?.inputs ?? {}) as Record<string, { type?: string; options?: unknown }>;
  if (inputs.stack?.type !== "choice" || !same(inputs.stack.options, branches) || inputs.pr?.type !== "number") {
    problems.push(`on: expected workflow_dispatch with inputs stack (choice of ${branches.join(", ")}) and pr (number), for the promotion PR`);
  }
  const job = workflow.jobs?.preview;
  if (!job || job.name !== "preview") {
    problems.push("jobs: expected a job preview named preview (the check branch protection requires)");
    return problems;
  }
  if (!same(grantsOf(job.permissions), { contents: "read", "id-token": "write" })) {
    problems.push("job preview: expected permissions exactly { contents: read, id-token: write }");
  }
  if (job.env?.STACK !== "${{ github.event_name == 'workflow_dispatch' && inputs.stack || github.base_ref }}") {
    problems.push("job preview: STACK must be the pull request's base branch (or the dispatched stack)");
  }
  if (
    job.env?.TRUSTED !==
    "${{ github.event_name == 'workflow_dispatch' || github.event.pull_request.head.repo.full_name == github.repository }}"
  ) {
    problems.push("job preview: TRUSTED must be false for pull requests from forks");
  }
  const plan = findStep(job, (s) => typeof s.run === "string" && /npm run (--silent )?plan -- --stack "\$STACK"/.test(s.run));
  if (!plan) problems.push('job preview: no offline check (npm run plan -- --stack "$STACK")');
  else if (plan.if !== undefined) problems.push("job preview: the offline check must run for forks too (no if:)");
  for (const step of stepsOf(job)) {
    const cloud =
      usesAction(step, AWS_CREDENTIALS) || usesAction(step, "pulumi/actions") || (typeof step.run === "string" && /(^|\n)\s*pulumi /.test(step.run));
    if (cloud && step.if !== "env.TRUSTED == 'true'") {
      problems.push(`job preview: step ${step.name ?? step.uses ?? "?"} needs the cloud and must be skipped for forks (if: env.TRUSTED == 'true')`);
    }
  }
  // Checks the stack files as one set, and that every generated list is what they say (check mode).
  const environments = findStep(job, (s) => typeof s.run === "string" && /^npm run --silent environments\s*$/.test(s.run));
  if (environments?.if !== "${{ !cancelled() }}") {
    problems.push("job preview: expected a step npm run --silent environments that runs whatever failed before it (if: ${{ !cancelled() }})");
  }
  const preview = pulumiCommands(job).find((c) => c.startsWith("pulumi preview"));
  if (!preview?.includes("--diff")) problems.push("job preview: no pulumi preview --diff");
  const previewStep = findStep(job, (s) => typeof s.run === "string" && /(^|\n)\s*pulumi preview /.test(s.run));
  if (previewStep?.env?.GITHUB_TOKEN !== "${{ github.token }}") {
    problems.push("job preview: pulumi preview must get the job's own read-only token as GITHUB_TOKEN");
  }
  const workflows = workflow.jobs?.workflows;
  const zizmor = findStep(workflows, (s) => typeof s.run === "string" && /zizmor==\d+\.\d+\.\d+ zizmor --offline/.test(s.run));
  if (!workflows || !same(grantsOf(workflows.permissions), { contents: "read" }) || !zizmor?.run?.includes(".github/workflows templates/app-ci.yml")) {
    problems.push("job workflows: expected zizmor (pinned) over .github/workflows and templates/app-ci.yml, with contents: read only");
  }
  const comment = workflow.jobs?.comment;
  if (!comment || !same(grantsOf(comment.permissions), { "pull-requests": "write" })) {
    problems.push("job comment: expected permissions exactly { pull-requests: write }");
  }
  if (!comment || !String(comment.if).includes("github.event.pull_request.head.repo.full_name == github.repository")) {
    problems.push("job comment: must be skipped for pull requests from forks");
  }
  const script = findStep(comment, (s) => usesAction(s, GITHUB_SCRIPT))?.with?.script;
  if (typeof script !== "string" || !script.includes("updateComment") || !script.includes("65536")) {
    problems.push("job comment: expected a github-script that updates its previous comment and keeps under 65536 characters");
  }
  return problems;
}

/** deploy.yml: `pulumi up` per environment branch, in the environment of that name, never cancelled. */
export function deployRules(workflow: Workflow, envs: Environments = repoEnvironments()): string[] {
  const problems: string[] = [];
  const branches = stackBranches(envs);
  const push = onEvent(workflow, "push");
  if (!push || !same(push.branches, branches) || triggers(workflow).length !== 1) {
    problems.push(`on: expected only push to branches [${branches.join(", ")}]`);
  }
  if (!same(workflow.concurrency, { group: "pulumi-${{ github.ref_name }}", "cancel-in-progress": false })) {
    problems.push("concurrency: expected { group: pulumi-${{ github.ref_name }}, cancel-in-progress: false }");
  }
  const job = workflow.jobs?.deploy;
  if (!job) return [...problems, "jobs: expected a job deploy"];
  if (job.environment !== "${{ github.ref_name }}") problems.push("job deploy: environment must be ${{ github.ref_name }}");
  if (!same(grantsOf(job.permissions), { contents: "read", "id-token": "write" })) {
    problems.push("job deploy: expected permissions exactly { contents: read, id-token: write }");
  }
  if (job.env?.STACK !== "${{ github.ref_name }}") problems.push("job deploy: STACK must be the pushed branch");
  if (!pulumiCommands(job).some((c) => c.startsWith('pulumi up --yes --stack "$STACK"'))) {
    problems.push('job deploy: no pulumi up --yes --stack "$STACK"');
  }
  const settings = findStep(job, (s) => typeof s.run === "string" && s.run.includes("stack-settings"));
  if (!settings?.run?.includes("--role deploy")) problems.push("job deploy: the AWS role must be the stack's deploy role (--role deploy)");
  problems.push(...appTokenRules("deploy", job, "DEPLOY_APP_CLIENT_ID", "DEPLOY_APP_PRIVATE_KEY", /^pulumi up /));
  const promote = workflow.jobs?.promote;
  if (!promote) return [...problems, "jobs: expected a job promote"];
  // One pull request per downstream environment of the deployed one, as the stack files of the
  // deployed commit say (tools/environments.ts --promotes-to).
  const reader = findStep(job, (s) => s.id === "promotion");
  if (
    typeof reader?.run !== "string" ||
    !/^promotes_to="\$\(npm run --silent environments -- --promotes-to "\$STACK"\)"\necho "promotes-to=\$promotes_to" >> "\$GITHUB_OUTPUT"\s*$/.test(reader.run) ||
    job.outputs?.["promotes-to"] !== "${{ steps.promotion.outputs.promotes-to }}"
  ) {
    problems.push("job deploy: expected a step promotion that writes npm run environments -- --promotes-to \"$STACK\" to the job output promotes-to");
  }
  if (promote.needs !== "deploy" || promote.if !== "needs.deploy.outputs.promotes-to != '[]'") {
    problems.push("job promote: must run only after a successful deploy of an environment that promotes (needs: deploy, if: needs.deploy.outputs.promotes-to != '[]')");
  }
  if (!same(promote.strategy?.matrix, { base: "${{ fromJSON(needs.deploy.outputs.promotes-to) }}" })) {
    problems.push("job promote: expected a matrix over base: ${{ fromJSON(needs.deploy.outputs.promotes-to) }} (one pull request per downstream environment)");
  }
  const step = findStep(promote, (s) => usesAction(s, GITHUB_SCRIPT));
  if (step?.env?.BASE !== "${{ matrix.base }}" || step.env.HEAD !== "${{ github.ref_name }}") {
    problems.push("job promote: the pull request must go from HEAD ${{ github.ref_name }} to BASE ${{ matrix.base }}");
  }
  if (!same(grantsOf(promote.permissions), { contents: "read" })) {
    problems.push("job promote: expected permissions exactly { contents: read } (it writes with the App token)");
  }
  const promoter = findStep(promote, (s) => usesAction(s, APP_TOKEN));
  const promoterWith = {
    "client-id": "${{ vars.DEPLOY_APP_CLIENT_ID }}",
    "private-key": "${{ secrets.DEPLOY_APP_PRIVATE_KEY }}",
    repositories: "${{ github.event.repository.name }}",
    "permission-contents": "read",
    "permission-pull-requests": "write",
  };
  if (promote.environment !== "${{ github.ref_name }}" || !promoter || !same(promoter.with, promoterWith)) {
    problems.push(`job promote: expected environment \${{ github.ref_name }} (the deployed one) and an App token step with ${JSON.stringify(promoterWith)}`);
  }
  return problems;
}

/** A job's App token: the right App, scoped to the stack's repositories, handed to pulumi only. */
function appTokenRules(jobId: string, job: Job, clientIdVariable: string, keySecret: string, command: RegExp): string[] {
  const problems: string[] = [];
  const app = findStep(job, (s) => usesAction(s, APP_TOKEN));
  const expected = {
    "client-id": `\${{ vars.${clientIdVariable} }}`,
    "private-key": `\${{ secrets.${keySecret} }}`,
    owner: "${{ steps.stack.outputs.github-owner }}",
    repositories: "${{ steps.stack.outputs.github-repositories }}",
  };
  if (!app || !same(app.with, expected)) {
    problems.push(`job ${jobId}: expected an App token step with ${JSON.stringify(expected)}`);
    return problems;
  }
  const step = findStep(job, (s) => typeof s.run === "string" && commandsOf(s.run).some((c) => command.test(c)));
  if (step?.env?.GITHUB_TOKEN !== `\${{ steps.${app.id}.outputs.token }}`) {
    problems.push(`job ${jobId}: pulumi must get the App token as GITHUB_TOKEN`);
  }
  return problems;
}

/** drift.yml: daily and on demand, per stack, one issue per stack. */
export function driftRules(workflow: Workflow, envs: Environments = repoEnvironments()): string[] {
  const problems: string[] = [];
  const schedule = (workflow.on as Record<string, unknown> | undefined)?.schedule;
  const crons = Array.isArray(schedule) ? schedule.map((s) => String((s as { cron?: unknown }).cron)) : [];
  if (crons.length !== 1 || !/^(\S+\s+){4}\S+$/.test(crons[0] ?? "") || !/^\S+\s+\S+\s+\*\s+\*\s+\*$/.test(crons[0] ?? "")) {
    problems.push("on: expected one daily schedule (cron M H * * *)");
  }
  if (!onEvent(workflow, "workflow_dispatch")) problems.push("on: expected workflow_dispatch");
  if (triggers(workflow).some((t) => t.startsWith("pull_request") || t === "push")) problems.push("on: drift runs on schedule and on demand only");
  const job = workflow.jobs?.drift;
  if (!job) return [...problems, "jobs: expected a job drift"];
  if (!same(job.strategy?.matrix?.stack, stackBranches(envs))) problems.push(`job drift: expected a matrix over stack [${stackBranches(envs).join(", ")}]`);
  if (!same(grantsOf(job.permissions), { contents: "read", "id-token": "write", issues: "write" })) {
    problems.push("job drift: expected permissions exactly { contents: read, id-token: write, issues: write }");
  }
  const concurrency = concurrencyOf(job.concurrency);
  if (concurrency?.group?.startsWith("pulumi-")) problems.push("job drift: must not share the deploy concurrency group (a waiting check would replace a waiting deploy)");
  if (!pulumiCommands(job).some((c) => /^pulumi preview --refresh --expect-no-changes --stack "\$STACK"/.test(c))) {
    problems.push('job drift: no pulumi preview --refresh --expect-no-changes --stack "$STACK"');
  }
  const settings = findStep(job, (s) => typeof s.run === "string" && s.run.includes("stack-settings"));
  if (!settings?.run?.includes("--role drift")) problems.push("job drift: the AWS role must be the stack's drift role (--role drift)");
  if (job.if !== "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)") {
    problems.push("job drift: must run only on the default branch (the drift role trusts nothing else)");
  }
  const stackCheckout = findStep(job, (s) => usesAction(s, "actions/checkout") && s.with?.ref !== undefined);
  if (stackCheckout?.with?.ref !== "${{ matrix.stack }}" || stackCheckout.with.path !== "stack") {
    problems.push("job drift: each stack must be checked out from its own branch (ref: ${{ matrix.stack }}, path: stack)");
  }
  const detect = findStep(job, (s) => typeof s.run === "string" && /(^|\n)\s*pulumi preview /.test(s.run));
  if (detect?.["working-directory"] !== "stack") problems.push("job drift: pulumi must run in the stack's checkout (working-directory: stack)");
  problems.push(...appTokenRules("drift", job, "READER_APP_CLIENT_ID", "READER_APP_PRIVATE_KEY", /^pulumi preview /));
  const script = findStep(job, (s) => usesAction(s, GITHUB_SCRIPT))?.with?.script;
  if (typeof script !== "string" || !script.includes("syncDriftIssue(")) {
    problems.push("job drift: expected a github-script that calls syncDriftIssue of tools/delivery.cjs");
  }
  return problems;
}

/**
 * templates/app-ci.yml: builds without credentials, and pushes only from tag runs in the app repo's
 * release environment (the exact OIDC subject the app roles trust), with the Actions variables
 * gitops-platform writes for each environment.
 */
export function appCiRules(
  workflow: Workflow,
  releaseEnvironment: string,
  variables: Readonly<Record<string, { roleArn: string; ecrRepositoryUrl: string; region: string }>>,
): string[] {
  const problems: string[] = [];
  const push = onEvent(workflow, "push");
  if (!push || !same(push.tags, ["v*.*.*"])) problems.push('on: expected push of tags ["v*.*.*"]');
  const release = workflow.jobs?.release;
  if (!release) return [...problems, "jobs: expected a job release"];
  for (const [jobId, job] of jobsOf(workflow)) {
    const grants = grantsOf(job.permissions);
    if (jobId !== "release" && typeof grants === "object" && grants["id-token"] === "write") {
      problems.push(`job ${jobId}: only the release job may request an OIDC token`);
    }
  }
  if (release.environment !== releaseEnvironment) {
    problems.push(`job release: environment must be ${releaseEnvironment} (the OIDC subject the app roles trust)`);
  }
  if (release.if !== "github.event_name == 'push' && startsWith(github.ref, 'refs/tags/v')") {
    problems.push("job release: must run only for pushed version tags");
  }
  const include = (release.strategy?.matrix?.include ?? []) as Record<string, unknown>[];
  const expected = Object.entries(variables).map(([environment, names]) => ({
    environment,
    roleArn: `\${{ vars.${names.roleArn} }}`,
    repositoryUrl: `\${{ vars.${names.ecrRepositoryUrl} }}`,
    region: `\${{ vars.${names.region} }}`,
  }));
  if (!same(include, expected)) problems.push(`job release: expected the matrix ${JSON.stringify(expected)}`);
  // One build: every environment gets the bytes of the build job's archive, with its digest.
  const builds = jobsOf(workflow).flatMap(([jobId, job]) => stepsOf(job).filter((s) => /\bdocker (buildx )?build\b|\bbuildah\b|\bdocker push\b/.test(s.run ?? "")).map(() => jobId));
  if (!same(builds, ["build"])) problems.push(`jobs: expected exactly one image build, in the job build (found in: ${builds.join(", ") || "none"})`);
  const build = workflow.jobs?.build;
  const upload = findStep(build, (s) => usesAction(s, "actions/upload-artifact"));
  if (!upload || upload.with?.name !== "release-image" || build?.outputs?.digest === undefined) {
    problems.push("job build: expected the release image kept as the artifact release-image, and its digest as the output digest");
  }
  const download = findStep(release, (s) => usesAction(s, "actions/download-artifact"));
  const pushStep = findStep(release, (s) => /\bskopeo copy --preserve-digests\b/.test(s.run ?? ""));
  if (!same(release.needs, "build") || download?.with?.name !== "release-image" || release.env?.DIGEST !== "${{ needs.build.outputs.digest }}") {
    problems.push("job release: expected needs: build, the artifact release-image and DIGEST from needs.build.outputs.digest");
  }
  if (!pushStep || !/"\$pushed" != "\$DIGEST"/.test(pushStep.run ?? "") || !/"\$built" != "\$DIGEST"/.test(pushStep.run ?? "")) {
    problems.push("job release: expected skopeo copy --preserve-digests of the archive, checking the archive's and the pushed digest against DIGEST");
  }
  return problems;
}

/**
 * preview.yml, job tag-changes: on pull requests into a production environment that receives
 * promotions, `check-tag-changes` of the pull request's base and head against the upstream's
 * branch, with the full history and no credentials.
 */
export function tagChangesRules(workflow: Workflow, envs: Environments = repoEnvironments()): string[] {
  const problems: string[] = [];
  const job = workflow.jobs?.["tag-changes"];
  if (!job || job.name !== "tag-changes") return ["jobs: expected a job tag-changes named tag-changes (the check the prod ruleset requires)"];
  const into = `github.event_name == 'pull_request' && contains(fromJSON('${jsonList(envs, "promoted-production")}'), github.base_ref)`;
  if (job.if !== into) problems.push(`job tag-changes: must run for every pull request into a promoted production environment (if: ${into})`);
  if (job.environment !== undefined || !same(grantsOf(job.permissions), { contents: "read" }) || secretsIn(job).length > 0) {
    problems.push("job tag-changes: expected permissions exactly { contents: read }, no environment and no secrets");
  }
  const checkout = findStep(job, (s) => usesAction(s, "actions/checkout"));
  if (checkout?.with?.["fetch-depth"] !== 0) problems.push("job tag-changes: the checkout needs the full history (fetch-depth: 0)");
  if (!same(job.env, { BASE_SHA: "${{ github.event.pull_request.base.sha }}", HEAD_SHA: "${{ github.event.pull_request.head.sha }}", BASE_REF: "${{ github.base_ref }}" })) {
    problems.push("job tag-changes: BASE_SHA and HEAD_SHA must be the pull request's base and head commits, BASE_REF its base branch");
  }
  // Against the branch the base environment receives promotions from, as its stack files say.
  const check = findStep(
    job,
    (s) =>
      typeof s.run === "string" &&
      /^upstream="\$\(npm run --silent environments -- --upstream "\$BASE_REF"\)"\nnpm run (--silent )?check-tag-changes -- "\$BASE_SHA" "\$HEAD_SHA" "origin\/\$upstream"\s*$/.test(s.run),
  );
  if (!check || check.if !== undefined || (check as Record<string, unknown>)["continue-on-error"] !== undefined) {
    problems.push('job tag-changes: expected the step npm run check-tag-changes -- "$BASE_SHA" "$HEAD_SHA" "origin/$upstream" against the upstream of $BASE_REF, unconditional');
  }
  return problems;
}

/**
 * automation.yml: on the default branch only (schedule, dispatch), in the staging environment, the
 * deploy App narrowed to this repository's contents and pull requests, no repository code run.
 */
export function automationRules(workflow: Workflow): string[] {
  const problems: string[] = [];
  if (!same(triggers(workflow).sort(), ["schedule", "workflow_dispatch"])) problems.push("on: expected only schedule and workflow_dispatch (never a push of the automation branch)");
  const job = workflow.jobs?.["automation-pr"];
  if (!job) return [...problems, "jobs: expected a job automation-pr"];
  if (job.if !== "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)") {
    problems.push("job automation-pr: must run only on the default branch");
  }
  if (job.environment !== "staging") problems.push("job automation-pr: environment must be staging (the deploy App's key)");
  if (!same(grantsOf(job.permissions), { contents: "read" })) problems.push("job automation-pr: expected permissions exactly { contents: read } (it writes with the App token)");
  if (stepsOf(job).some((s) => typeof s.run === "string" || usesAction(s, "actions/checkout"))) problems.push("job automation-pr: must run no repository code");
  const app = findStep(job, (s) => usesAction(s, APP_TOKEN));
  const expected = {
    "client-id": "${{ vars.DEPLOY_APP_CLIENT_ID }}",
    "private-key": "${{ secrets.DEPLOY_APP_PRIVATE_KEY }}",
    repositories: "${{ github.event.repository.name }}",
    "permission-contents": "write",
    "permission-pull-requests": "write",
  };
  if (!app || !same(app.with, expected)) problems.push(`job automation-pr: expected an App token step with ${JSON.stringify(expected)}`);
  // What may merge itself comes from the program (the staging stack's offline plan), read by a job
  // without credentials; the privileged job only gets the result.
  const scope = workflow.jobs?.scope;
  if (!scope) return [...problems, "jobs: expected a job scope"];
  if (scope.if !== job.if) problems.push("job scope: must run only on the default branch, as automation-pr");
  if (scope.environment !== undefined || !same(grantsOf(scope.permissions), { contents: "read" }) || secretsIn(scope).length > 0) {
    problems.push("job scope: expected permissions exactly { contents: read }, no environment and no secrets");
  }
  // Each stack the stack files say runs image automation, by its own plan.
  const reads = findStep(
    scope,
    (s) =>
      typeof s.run === "string" &&
      s.run.startsWith('stacks="$(npm run --silent environments -- --image-automation)"\n') &&
      /\n\s*npm run --silent plan -- --stack "\$stack" --json\b/.test(s.run) &&
      /\nnode tools\/delivery\.cjs automation-scope "\$\{plans\[@\]\}"\s*$/.test(s.run),
  );
  if (!reads?.id || scope.outputs?.scope !== `\${{ steps.${reads.id}.outputs.scope }}`) {
    problems.push("job scope: expected its output scope from `node tools/delivery.cjs automation-scope` over the plan (--json) of each stack that runs image automation");
  }
  const script = findStep(job, (s) => usesAction(s, GITHUB_SCRIPT));
  if (!same(job.needs, "scope") || script?.env?.SCOPE !== "${{ needs.scope.outputs.scope }}") {
    problems.push("job automation-pr: expected needs: scope and the script's SCOPE from needs.scope.outputs.scope");
  }
  return problems;
}
