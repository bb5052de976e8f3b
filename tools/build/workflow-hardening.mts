/**
 * The workflow hardening linter: the generic rules every GitHub Actions workflow of this repository
 * follows (least-privilege permissions, pinned actions, no expressions in scripts, OIDC instead of
 * keys, pulumi runs serialised and policy-checked, App tokens only where pulumi needs them, write
 * tokens beside no pull request code), as checks over a workflow parsed by ./workflow-model.mts
 * (whose readers this module re-exports). Each check returns the problems it finds, one message
 * each. `node tools/build/lint-workflows.mts hardening` (a stage of `npm test`) runs auditWorkflow
 * over every workflow file there is, including ones a pull request adds; what each delivery
 * workflow does on each event is tested by simulating the event, in
 * test/delivery/workflows-<workflow>.test.ts (the checks: test/support/behaviour/).
 */
import { APP_TOKEN, AWS_CREDENTIALS, GITHUB_SCRIPT, commandsOf, grantsOf, jobsOf, parseWorkflow, stepLabel, stepsOf, triggers, usesAction, usesLines, type Concurrency, type Job, type Step, type Workflow } from "./workflow-model.mts";

import { checkGithubScriptSteps } from "./workflow-github-script.mts";

export * from "./workflow-model.mts";

/**
 * The only stored secrets: the GitHub App keys, each only as the private key of an App token step.
 * The deploy App's key is a secret of the protected environments and may be read only by a job in one.
 */
const APP_KEY_SECRETS: Readonly<Record<string, { environment: boolean }>> = {
  DEPLOY_APP_PRIVATE_KEY: { environment: true },
  READER_APP_PRIVATE_KEY: { environment: false },
};
/** Write scopes a delivery job may hold, each only where the rules below allow it. */
const WRITE_SCOPES_IN_USE = new Set(["id-token", "pull-requests", "issues", "actions"]);
const PINNED = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_./-]+@[0-9a-f]{40}$/;
// A zizmor suppression may follow the version, when the workflow explains it next to the step.
const VERSION_COMMENT = /#\s*v\d+\.\d+\.\d+(\s+#\s*zizmor: ignore\[[a-z-]+\])?\s*$/;

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
    const runs = steps.some((s) => typeof s.run === "string");
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
    // Such a job may check out trusted code for a github-script to load (checkWriteTokenCheckouts),
    // but runs no shell: nothing else in the job sees its token.
    for (const scope of ["pull-requests", "actions"]) {
      if (writes.includes(scope) && runs) {
        problems.push(`job ${jobId}: ${scope}: write in a job with run: steps`);
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

/**
 * The one script a github-script step runs: the step of a delivery module (tools/ci/delivery/), which
 * reads the step's env and the run's context itself, so every line of its logic is type-checked,
 * linted and tested as TypeScript, and none lives in the YAML.
 */
export const GITHUB_SCRIPT_GLUE = "await require(process.env.DELIVERY_TOOLS).runStep({ github, context, core }, process.env);";

function checkScripts(workflow: Workflow): string[] {
  const problems: string[] = [];
  for (const [jobId, job] of jobsOf(workflow)) {
    stepsOf(job).forEach((step, index) => {
      const label = stepLabel(jobId, step, index);
      const script = usesAction(step, GITHUB_SCRIPT) ? step.with?.script : step.run;
      const where = usesAction(step, GITHUB_SCRIPT) ? "script:" : "run:";
      if (typeof script !== "string") return;
      if (usesAction(step, GITHUB_SCRIPT) && script.trim() !== GITHUB_SCRIPT_GLUE) {
        problems.push(`${label}: a github-script runs exactly \`${GITHUB_SCRIPT_GLUE}\` (its logic belongs in a module of tools/ci/delivery/)`);
      }
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
function pulumiCommands(job: Job): string[] {
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

/** The write-capable tokens a job holds: its GITHUB_TOKEN's write scopes (OIDC's id-token aside) and any App token it mints. */
function writeTokensOf(job: Job): string[] {
  const grants = grantsOf(job.permissions);
  const scopes = typeof grants === "object" ? Object.entries(grants).filter(([scope, level]) => level === "write" && scope !== "id-token").map(([scope]) => `${scope}: write`) : [];
  const apps = stepsOf(job).some((step) => usesAction(step, APP_TOKEN)) ? ["an App token"] : [];
  return typeof grants === "string" && grants !== "read-all" ? [`permissions: ${grants}`, ...apps] : [...scopes, ...apps];
}

/** The only ref a job holding a write-capable token may check out in a workflow pull requests trigger. */
const PULL_REQUEST_BASE = "${{ github.event.pull_request.base.sha }}";
// The base commit, set on every pull request event; `|| github.sha` applies only to the workflow's
// other triggers (a dispatch: the commit whose workflow file the run already is).
const BASE_REF = /^\$\{\{\s*github\.event\.pull_request\.base\.sha\s*(\|\|\s*github\.sha\s*)?\}\}$/;

/** Whether a checkout step names the pull request's base commit as its ref (on a pull request event). */
export function checksOutPullRequestBase(step: Step): boolean {
  const ref = step.with?.ref;
  return usesAction(step, "actions/checkout") && typeof ref === "string" && BASE_REF.test(ref.trim());
}

/**
 * A job holding a write-capable token checks out only code that token may run: with
 * persist-credentials: false (checkSteps, for every checkout) and, in a workflow that pull requests
 * trigger, only the pull request's base commit, named by an explicit ref: (checkout's default there
 * is the merge commit, the pull request's code); and it uses no action besides that checkout and
 * github-script.
 */
function checkWriteTokenCheckouts(workflow: Workflow): string[] {
  const problems: string[] = [];
  // workflow_run and issue_comment run beside pull requests too: their events name the pull
  // request's head (workflow_run.head_sha, refs/pull/<n>/head) and its artifacts.
  if (!triggers(workflow).some((t) => t.startsWith("pull_request") || t === "workflow_run" || t === "issue_comment")) return problems;
  for (const [jobId, job] of jobsOf(workflow)) {
    const tokens = writeTokensOf(job);
    if (tokens.length === 0) continue;
    stepsOf(job).forEach((step, index) => {
      // An artifact or a cache the pull request's job wrote, or any other action, can carry its code.
      // (Minting an App token there is a finding of its own: checkAppTokens.)
      if (typeof step.uses === "string" && !usesAction(step, "actions/checkout") && !usesAction(step, GITHUB_SCRIPT) && !usesAction(step, APP_TOKEN)) {
        problems.push(`${stepLabel(jobId, step, index)}: uses ${step.uses.split("@")[0] ?? ""} in a job holding ${tokens.join(", ")}, in a workflow that pull requests trigger: only actions/checkout of the base and ${GITHUB_SCRIPT}`);
        return;
      }
      if (!usesAction(step, "actions/checkout") || checksOutPullRequestBase(step)) return;
      const ref = step.with?.ref;
      const what = ref === undefined ? "the default ref (the pull request's merge commit)" : `ref: ${typeof ref === "string" ? ref : JSON.stringify(ref)}`;
      problems.push(
        `${stepLabel(jobId, step, index)}: checks out ${what} in a job holding ${tokens.join(", ")}, in a workflow that pull requests trigger: only ref: ${PULL_REQUEST_BASE} (the base, never the pull request's code)`,
      );
    });
  }
  return problems;
}

/**
 * The App token reaches only the GITHUB_TOKEN of steps that run pulumi, or the github-token of a
 * github-script in a job without run: steps (its checkouts held to checkWriteTokenCheckouts), in its
 * own job.
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
        const noRunSteps = !steps.some((s) => typeof s.run === "string");
        const asScriptToken = usesAction(step, GITHUB_SCRIPT) && noRunSteps && refs.every(([key, value]) => key === "github-token" && value === `\${{ ${output} }}`);
        if (!(runsPulumi && onlyAsToken) && !asScriptToken) {
          problems.push(`${stepLabel(jobId, step, index)}: the App token may only be the GITHUB_TOKEN of a step that runs pulumi, or the github-token of a github-script in a job without run: steps`);
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
    ...checkGithubScriptSteps(workflow),
    ...checkSteps(workflow),
    ...checkPulumi(workflow),
    ...checkSecrets(workflow, raw),
    ...checkAppTokens(workflow),
    ...checkWriteTokenCheckouts(workflow),
  ];
}
