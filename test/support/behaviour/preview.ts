/**
 * preview.yml, by what it does: a pull request into an environment branch (or a dispatch naming the
 * stack and the pull request) gets the `preview` check: the offline plan of the base branch's stack
 * for everyone, `pulumi preview` with the policy pack and the stack's read-only role only for the
 * repository's own branches, one comment carrying the report, a `tag-changes` check on pull
 * requests into a production environment that receives promotions, and zizmor over the workflows.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Environments } from "../../../components/config/environments";
import { generatedLists } from "../../../tools/generate/environments";
import { commands, type Event, type JobRun, type Run, type StepRun } from "../workflow-sim";
import type { Workflow } from "../../../tools/build/workflow-hardening.mts";
import { AWS_CREDENTIALS, CHECKOUT, DEFAULT_BRANCH, GITHUB_SCRIPT, actionsBesides, actionSteps, otherTriggers, commandOf, delivery, describeEvent, grants, hasExactly, optionOf, outputOf, repoEnvironments, run, secretsOf, startsWith, stepOf } from "./common";

const PLAN = ["npm", "run", "--silent", "plan"];
const ENVIRONMENTS_CHECK = ["npm", "run", "--silent", "environments"];

/** The jobs of a run that carry a check of this name (what branch protection requires). */
function checks(r: Run, name: string): JobRun[] {
  return r.jobs.filter((j) => j.name === name);
}

/** The preview check of one event, for one stack; `trusted` says whether the cloud may be used. */
function previewChecks(workflow: Workflow, event: Event, stack: string, trusted: boolean): string[] {
  const at = describeEvent(event);
  const problems: string[] = [];
  const r = run(workflow, event);
  if (!r.triggered) return [`${at}: preview does not start`];
  const found = checks(r, "preview");
  const job = found[0];
  if (found.length !== 1 || !job) return [`${at}: expected one job with the check name preview (branch protection requires it), found ${found.length}`];
  const plan = commandOf(job, ...PLAN);
  if (optionOf(plan, "--stack") !== stack) problems.push(`${at}: the offline plan must check stack ${stack}, got ${plan?.join(" ") ?? "none"}`);
  const preview = commandOf(job, "pulumi", "preview");
  const cloud = actionSteps(job, AWS_CREDENTIALS).length > 0 || preview !== undefined || delivery(job, "stack-settings").step !== undefined;
  if (!trusted) {
    if (cloud || secretsOf(job).length > 0) problems.push(`${at}: must not reach the cloud or a secret (a fork's code runs here)`);
  } else {
    if (!hasExactly(job, { contents: "read", "id-token": "write" })) problems.push(`${at}: the preview job's token has ${grants(job)}, expected exactly {"contents":"read","id-token":"write"}`);
    const { step: settings, command } = delivery(job, "stack-settings");
    if (optionOf(command, "--stack") !== stack || optionOf(command, "--role") !== "preview") problems.push(`${at}: expected stack-settings --stack ${stack} --role preview, got ${command?.join(" ") ?? "none"}`);
    const roles = actionSteps(job, AWS_CREDENTIALS);
    if (roles.length !== 1 || roles[0]?.with["role-to-assume"] !== outputOf(settings, "role-arn")) problems.push(`${at}: the job must assume exactly the role stack-settings --role preview names (its output role-arn)`);
    if (optionOf(preview, "--stack") !== stack || !preview?.includes("--diff") || optionOf(preview, "--policy-pack") !== "policies" || optionOf(preview, "--policy-pack-config") !== outputOf(settings, "policy-config")) {
      problems.push(`${at}: expected pulumi preview --stack ${stack} --diff with the policy pack and the stack's policy config, got ${preview?.join(" ") ?? "none"}`);
    }
    if (stepOf(job, "pulumi", "preview")?.env.GITHUB_TOKEN !== "⟨github.token⟩") problems.push(`${at}: pulumi preview must get the job's own read-only token as GITHUB_TOKEN`);
  }
  // After a failed step (a plan or preview that failed), the report, the verdict and the environments check still run.
  const failed = checks(run(workflow, event, { afterFailure: true }), "preview")[0];
  const afterFailure = failed ? commands(failed) : [];
  if (!afterFailure.some((c) => c.length === ENVIRONMENTS_CHECK.length && startsWith(c, ...ENVIRONMENTS_CHECK))) {
    problems.push(`${at}: npm run --silent environments (the stack files as one set, and every generated list) must run even after a failed step`);
  }
  // The check's verdict: a failed plan (and, where the cloud is used, a failed preview) fails the job; clean ones pass it.
  const planStep = stepOf(job, ...PLAN);
  const previewStep = stepOf(job, "pulumi", "preview");
  const ran = (exits: { plan: string; preview: string }) => verdictFails(job, exits, planStep, previewStep);
  // (A plan that does not run at all is reported above.)
  if (planStep && !ran({ plan: "1", preview: "0" })) problems.push(`${at}: a failed offline plan (its step's output exit-code 1) must fail the preview check`);
  if (trusted && !ran({ plan: "0", preview: "1" })) problems.push(`${at}: a failed pulumi preview (its step's output exit-code 1) must fail the preview check`);
  if (planStep && ran({ plan: "0", preview: "0" })) problems.push(`${at}: a clean offline plan${trusted ? " and preview" : ""} must pass the preview check`);
  const report = delivery(job, "preview-comment");
  if (!failed || !delivery(failed, "preview-comment").step) problems.push(`${at}: the report (preview-comment) must be written even after a failed step`);
  // The comment: the repository's own pull requests only, with the report, even when the preview failed.
  const comment = run(workflow, event, { failing: [job.id] }).jobs.find((j) => actionSteps(j, GITHUB_SCRIPT).length > 0);
  if (!trusted) {
    if (comment) problems.push(`${at}: must not comment (a fork's pull request gets a read-only token)`);
    return problems;
  }
  if (!comment) return [...problems, `${at}: expected a comment job that runs even when the preview fails`];
  if (!hasExactly(comment, { contents: "read", "pull-requests": "write" })) problems.push(`${at}: the comment job's token has ${grants(comment)}, expected exactly {"contents":"read","pull-requests":"write"}`);
  // The code that gets the write token is reviewed code: on a pull request, its base commit.
  const trustedRef = event.name === "pull_request" ? "⟨github.event.pull_request.base.sha⟩" : "⟨github.sha⟩";
  const refs = actionSteps(comment, CHECKOUT).map((c) => c.with.ref ?? "(the default: the pull request's merge commit)");
  if (refs.some((ref) => ref !== trustedRef)) problems.push(`${at}: the comment job may check out ${trustedRef} only, got ${refs.join(", ")}`);
  const script = actionSteps(comment, GITHUB_SCRIPT)[0];
  if (script?.env.BODY !== outputOf(report.step, "body")) problems.push(`${at}: the comment must carry the preview job's report (output body of its preview-comment step)`);
  if (commands(comment).length > 0) problems.push(`${at}: the comment job runs shell commands; it holds a write token and runs none`);
  // An artifact or a cache the preview job (the pull request's code) wrote, or another action, would be code the write token reaches.
  const foreign = actionsBesides(comment, CHECKOUT, GITHUB_SCRIPT);
  if (foreign.length > 0) problems.push(`${at}: the comment job uses ${foreign.join(", ")}; it holds a write token and uses ${CHECKOUT} and ${GITHUB_SCRIPT} only`);
  return problems;
}

// What the verdict steps may run: the shell's own words, nothing that reaches the network or the repository.
const BUILTINS = new Set(["if", "then", "elif", "else", "fi", "echo", "printf", "exit", "[", "test", "true", "false"]);

/**
 * Whether the preview job fails when the offline plan and pulumi preview exit with these codes: the
 * plan and preview steps record their exit code as an output (`set +e`, so the report still gets
 * written), and the steps after them that read those outputs and run only shell builtins are run
 * with bash, as the runner would, with the outputs set. A step that exits non-zero fails the job
 * unless it has continue-on-error.
 */
function verdictFails(job: JobRun, exits: { plan: string; preview: string }, plan: StepRun | undefined, preview: StepRun | undefined): boolean {
  const symbols: [string | undefined, string][] = [
    [outputOf(plan, "exit-code"), exits.plan],
    [outputOf(preview, "exit-code"), exits.preview],
  ];
  const reads = (s: StepRun) => Object.values(s.env).some((v) => symbols.some(([symbol]) => symbol !== undefined && v.includes(symbol)));
  const verdicts = job.steps.filter((s) => s.index > (plan?.index ?? Infinity) && s.script !== undefined && reads(s) && s.commands.every((c) => BUILTINS.has(c[0] ?? "") || /^[A-Za-z_]\w*=/.test(c[0] ?? "")));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verdict-"));
  try {
    return verdicts.some((s) => {
      // Any other step output (a step that did not run, as the preview for a fork) is empty.
      const set = (v: string) => symbols.reduce((text, [symbol, value]) => (symbol ? text.split(symbol).join(value) : text), v).replace(/⟨steps\.[^⟩]*⟩/g, "");
      const env = Object.fromEntries(Object.entries(s.env).map(([k, v]) => [k, set(v)]));
      const file = path.join(dir, `step-${s.index}.sh`);
      fs.writeFileSync(file, s.script ?? "");
      const flags = (s.shell ?? "").includes("pipefail") ? ["-eo", "pipefail"] : ["-e"];
      const result = spawnSync("bash", ["--noprofile", "--norc", ...flags, file], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env, RUNNER_TEMP: dir }, encoding: "utf8" });
      return result.status !== 0 && !s.continueOnError;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The tag check of one pull request. */
function tagChecks(workflow: Workflow, event: Extract<Event, { name: "pull_request" }>, expected: boolean): string[] {
  const at = describeEvent(event);
  const found = checks(run(workflow, event), "tag-changes");
  if (!expected) return found.length > 0 ? [`${at}: tag-changes must not run (${event.base} runs image automation or receives no promotion)`] : [];
  const job = found[0];
  if (found.length !== 1 || !job) return [`${at}: expected one job with the check name tag-changes (the ruleset requires it), found ${found.length}`];
  const problems: string[] = [];
  if (job.environment !== undefined || !hasExactly(job, { contents: "read" }) || secretsOf(job).length > 0) {
    problems.push(`${at}: tag-changes must run with {"contents":"read"} only, no environment and no secrets`);
  }
  if (actionSteps(job, CHECKOUT)[0]?.with["fetch-depth"] !== "0") problems.push(`${at}: tag-changes needs the full history (checkout fetch-depth 0)`);
  const upstream = commandOf(job, "npm", "run", "--silent", "environments", "--", "--upstream");
  if (upstream?.[6] !== event.base) problems.push(`${at}: the upstream must be read for ${event.base} (npm run environments -- --upstream ${event.base})`);
  const check = commandOf(job, "npm", "run", "--silent", "check-tag-changes", "--");
  const step = stepOf(job, "npm", "run", "--silent", "check-tag-changes", "--");
  const args = check?.slice(5);
  if (JSON.stringify(args) !== JSON.stringify(["⟨github.event.pull_request.base.sha⟩", "⟨github.event.pull_request.head.sha⟩", "origin/$upstream"]) || step?.continueOnError !== false) {
    problems.push(`${at}: expected check-tag-changes of the pull request's base and head commits against origin/<its upstream>, failing the job, got ${check?.join(" ") ?? "none"}`);
  }
  return problems;
}

/** The problems with preview.yml's behaviour, one message each. */
export function previewBehaviour(workflow: Workflow, envs: Environments = repoEnvironments()): string[] {
  const problems: string[] = [...otherTriggers(workflow, ["pull_request", "workflow_dispatch"])];
  for (const event of [{ name: "pull_request", base: DEFAULT_BRANCH }, { name: "push", branch: envs.list[0]?.stack ?? "staging" }] as Event[]) {
    if (run(workflow, event).triggered) problems.push(`${describeEvent(event)}: preview must not start`);
  }
  const promotedProduction = generatedLists(envs)["promoted-production"] ?? [];
  for (const env of envs.list) {
    const own: Extract<Event, { name: "pull_request" }> = { name: "pull_request", base: env.stack };
    const fork: Extract<Event, { name: "pull_request" }> = { ...own, fork: true };
    problems.push(...previewChecks(workflow, own, env.stack, true));
    problems.push(...previewChecks(workflow, fork, env.stack, false));
    problems.push(...previewChecks(workflow, { name: "workflow_dispatch", inputs: { stack: env.stack, pr: 7 } }, env.stack, true));
    // Every pull request into it: a feature branch, a fork's, and the promotion pull request itself.
    const tagged = promotedProduction.includes(env.stack);
    problems.push(...tagChecks(workflow, own, tagged), ...tagChecks(workflow, fork, tagged));
    if (env.upstream !== undefined) problems.push(...tagChecks(workflow, { ...own, head: env.upstream }, tagged));
    // The check is required on the head commit: new commits and a reopened pull request get it too.
    for (const action of ["synchronize", "reopened"]) {
      if (!run(workflow, { ...own, action }).triggered) problems.push(`${describeEvent({ ...own, action })}: preview does not start`);
    }
  }
  // One preview at a time per pull request, a dispatched one included; pull requests never wait for each other.
  const stack = envs.list[0]?.stack ?? "staging";
  const group = (event: Event) => run(workflow, event, { failing: Object.keys(workflow.jobs ?? {}) }).concurrency?.group;
  const first = group({ name: "pull_request", base: stack, number: 1 });
  if (first === undefined || first === group({ name: "pull_request", base: stack, number: 2 }) || first !== group({ name: "workflow_dispatch", inputs: { stack, pr: 1 } })) {
    problems.push("concurrency: expected one group per pull request, shared with a dispatched preview of that pull request");
  }
  // zizmor over every workflow and the app template, with nothing but read access.
  const own = run(workflow, { name: "pull_request", base: stack });
  const zizmor = own.jobs.find((j) => commands(j).some((c) => c.includes("zizmor")));
  const args = zizmor ? commands(zizmor).find((c) => c.includes("zizmor")) : undefined;
  if (!zizmor || !hasExactly(zizmor, { contents: "read" }) || !/^zizmor==\d+\.\d+\.\d+$/.test(optionOf(args, "--spec") ?? "") || !args?.includes("--offline") || !args.includes(".github/workflows") || !args.includes("templates/app-ci.yml")) {
    problems.push("pull requests: expected zizmor (pinned, offline) over .github/workflows and templates/app-ci.yml, with contents: read only");
  }
  return problems;
}
