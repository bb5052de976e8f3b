/**
 * automation.yml, by what it does: on a schedule or on demand, on the default branch only, a job
 * without credentials reads what image automation may write from the offline plans of the stacks
 * that run it, and a second job, in the environment holding the deploy App's key, opens or
 * refreshes the automation pull request with a token narrowed to this repository's contents and
 * pull requests, running no shell. Nothing a branch push does starts it.
 */
import type { Environments } from "../../../components/config/environments";
import { generatedLists } from "../../../tools/generate/environments";
import { commands, type Event, type JobRun } from "../workflow-sim";
import type { Workflow } from "../../../tools/build/workflow-hardening.mts";
import { APP_TOKEN, CHECKOUT, DEFAULT_BRANCH, GITHUB_SCRIPT, REPOSITORY_NAME, actionsBesides, actionSteps, appTokenSteps, commandOf, delivery, describeEvent, grants, hasExactly, narrowedTo, optionOf, otherTriggers, outputOf, repoEnvironments, run, secretsOf } from "./common";

/** The problems with automation.yml's behaviour, one message each. */
export function automationBehaviour(workflow: Workflow, envs: Environments = repoEnvironments()): string[] {
  const problems: string[] = [...otherTriggers(workflow, ["schedule", "workflow_dispatch"])];
  const first = envs.list[0]?.stack ?? "staging";
  for (const event of [{ name: "push", branch: DEFAULT_BRANCH }, { name: "push", branch: `image-updates/${first}` }, { name: "pull_request", base: first }] as Event[]) {
    if (run(workflow, event).triggered) problems.push(`${describeEvent(event)}: automation must not start (never a push of the automation branch)`);
  }
  const environment = generatedLists(envs)["automation-environment"]?.[0];
  for (const event of [{ name: "schedule" }, { name: "workflow_dispatch" }] as Event[]) {
    const at = describeEvent(event);
    const r = run(workflow, event);
    if (!r.triggered) {
      problems.push(`${at}: automation does not start`);
      continue;
    }
    const scope = r.jobs.find((j) => delivery(j, "automation-scope").step);
    const proposer = r.jobs.find((j) => appTokenSteps(j, "DEPLOY_APP_CLIENT_ID", "DEPLOY_APP_PRIVATE_KEY").length > 0);
    if (!scope || !proposer) {
      problems.push(`${at}: expected a job that reads the scope (automation-scope) and one that proposes with the deploy App, got ${r.jobs.map((j) => j.id).join(", ") || "none"}`);
      continue;
    }
    problems.push(...scopeChecks(scope, at), ...proposerChecks(proposer, scope, environment, at));
    if (run(workflow, event, { failing: [scope.id] }).jobs.some((j) => j.id === proposer.id)) problems.push(`${at}: must propose nothing when the scope could not be read`);
  }
  const elsewhere: Event = { name: "workflow_dispatch", branch: "feature" };
  if (run(workflow, elsewhere).jobs.length > 0) problems.push(`${describeEvent(elsewhere)}: must run nothing (only the default branch proposes)`);
  return problems;
}

/** The job without credentials that reads, from the program, what may merge itself. */
function scopeChecks(job: JobRun, at: string): string[] {
  const problems: string[] = [];
  if (job.environment !== undefined || !hasExactly(job, { contents: "read" }) || secretsOf(job).length > 0) {
    problems.push(`${at}: the scope job must run with {"contents":"read"} only, no environment and no secrets, got ${grants(job)}${job.environment ? ` in ${job.environment}` : ""}`);
  }
  const stacks = commandOf(job, "npm", "run", "--silent", "environments", "--", "--image-automation");
  const plan = commandOf(job, "npm", "run", "--silent", "plan", "--");
  // Each stack the stack files name, by its own offline plan (a shell loop over their answer).
  if (!stacks || optionOf(plan, "--stack") !== "$stack" || !plan?.includes("--json")) {
    problems.push(`${at}: the scope must come from the offline plan (--json) of each stack npm run environments -- --image-automation names, got ${plan?.join(" ") ?? "no plan"}`);
  }
  if (job.outputs.scope !== outputOf(delivery(job, "automation-scope").step, "scope")) problems.push(`${at}: the scope job's output scope must be what automation-scope prints`);
  return problems;
}

/** The job that opens or refreshes the automation pull request. */
function proposerChecks(job: JobRun, scope: JobRun, environment: string | undefined, at: string): string[] {
  const problems: string[] = [];
  if (job.environment !== environment) problems.push(`${at}: the pull request job must run in ${environment} (the deploy App's key of the environment that runs image automation), got ${job.environment ?? "(none)"}`);
  if (!hasExactly(job, { contents: "read" })) problems.push(`${at}: the pull request job's token has ${grants(job)}, expected exactly {"contents":"read"} (it writes with the App token)`);
  const app = appTokenSteps(job, "DEPLOY_APP_CLIENT_ID", "DEPLOY_APP_PRIVATE_KEY")[0];
  const narrowed = app ? narrowedTo(app) : {};
  if (!app || app.with.repositories !== REPOSITORY_NAME || JSON.stringify(narrowed) !== JSON.stringify({ contents: "write", "pull-requests": "write" })) {
    problems.push(`${at}: expected a deploy App token for this repository only, narrowed to {"contents":"write","pull-requests":"write"}, got ${JSON.stringify(narrowed)}`);
  }
  const refs = actionSteps(job, CHECKOUT).map((c) => c.with.ref ?? "(default)");
  if (refs.some((ref) => ref !== "⟨github.sha⟩")) problems.push(`${at}: the pull request job may check out the default branch's commit only (⟨github.sha⟩), got ${refs.join(", ")}`);
  if (commands(job).length > 0) problems.push(`${at}: the pull request job runs shell commands (${commands(job)[0]?.join(" ")}); it holds a write token and runs none`);
  const foreign = actionsBesides(job, APP_TOKEN, CHECKOUT, GITHUB_SCRIPT);
  if (foreign.length > 0) problems.push(`${at}: the pull request job uses ${foreign.join(", ")}; it holds a write token and uses ${APP_TOKEN}, ${CHECKOUT} and ${GITHUB_SCRIPT} only`);
  const script = actionSteps(job, GITHUB_SCRIPT)[0];
  if (!job.needs.includes(scope.id) || script?.env.SCOPE !== scope.outputs.scope) problems.push(`${at}: the pull request job must act on the scope job's output only (needs it, SCOPE from it)`);
  return problems;
}
