/**
 * drift.yml, by what it does: once a day and on demand, on the default branch only, each stack's
 * program from its own branch runs `pulumi preview --refresh --expect-no-changes` with the stack's
 * drift role and a read-only App token, beside (never queued behind) that stack's deploy, and its
 * issue is opened, updated or closed after what the preview found.
 */
import type { Environments } from "../../../components/config/environments";
import { commands, type Event, type JobRun } from "../workflow-sim";
import type { Workflow } from "../../../tools/build/workflow-hardening.mts";
import { AWS_CREDENTIALS, CHECKOUT, DEFAULT_BRANCH, GITHUB_SCRIPT, actionSteps, appTokenSteps, commandOf, delivery, describeEvent, grants, hasExactly, jobsRunning, optionOf, otherTriggers, outputOf, repoEnvironments, run, stepOf, tokenUses } from "./common";

/** The concurrency group of each stack's deploy, as deploy.yml sets it. */
function deployGroups(deploy: Workflow, envs: Environments): Map<string, string | undefined> {
  const all = { failing: Object.keys(deploy.jobs ?? {}) };
  return new Map(
    envs.list.map((e) => {
      const r = run(deploy, { name: "push", branch: e.stack }, all);
      const job = jobsRunning(r, "pulumi", "up")[0];
      return [e.stack, (job?.concurrency ?? r.concurrency)?.group];
    }),
  );
}

/** What the drift job of one stack does. */
function stackChecks(job: JobRun, stack: string, deployGroup: string | undefined, at: string): string[] {
  const problems: string[] = [];
  if (!hasExactly(job, { contents: "read", "id-token": "write", issues: "write" })) {
    problems.push(`${at}: the drift job's token has ${grants(job)}, expected exactly {"contents":"read","id-token":"write","issues":"write"}`);
  }
  const detect = commandOf(job, "pulumi", "preview");
  const detectStep = stepOf(job, "pulumi", "preview");
  if (optionOf(detect, "--stack") !== stack || !detect?.includes("--refresh") || !detect.includes("--expect-no-changes")) {
    problems.push(`${at}: expected pulumi preview --refresh --expect-no-changes --stack ${stack}, got ${detect?.join(" ") ?? "none"}`);
  }
  // The program and stack file of the stack's own branch, not the default branch's.
  const checkout = actionSteps(job, CHECKOUT).find((s) => s.with.path === detectStep?.workingDirectory);
  if (detectStep?.workingDirectory === undefined || checkout?.with.ref !== stack) {
    problems.push(`${at}: pulumi must run in a checkout of the ${stack} branch (its program and stack file as deployed)`);
  }
  const { step: settings, command } = delivery(job, "stack-settings");
  if (optionOf(command, "--stack") !== stack || optionOf(command, "--role") !== "drift") problems.push(`${at}: expected stack-settings --stack ${stack} --role drift, got ${command?.join(" ") ?? "none"}`);
  const roles = actionSteps(job, AWS_CREDENTIALS);
  if (roles.length !== 1 || roles[0]?.with["role-to-assume"] !== outputOf(settings, "role-arn")) problems.push(`${at}: the job must assume exactly the role stack-settings --role drift names (its output role-arn)`);
  const apps = appTokenSteps(job, "READER_APP_CLIENT_ID", "READER_APP_PRIVATE_KEY");
  const app = apps[0];
  if (apps.length !== 1 || !app || app.with.owner !== outputOf(settings, "github-owner") || app.with.repositories !== outputOf(settings, "github-repositories")) {
    problems.push(`${at}: expected one reader App token (vars.READER_APP_CLIENT_ID, secrets.READER_APP_PRIVATE_KEY) scoped to the stack's owner and repositories`);
  } else {
    const token = outputOf(app, "token") ?? "(no id)";
    if (detectStep?.env.GITHUB_TOKEN !== token || tokenUses(job, token).length !== 1) problems.push(`${at}: the reader App token must reach pulumi preview only, as GITHUB_TOKEN`);
  }
  // The issue follows what the preview found (the detect step's outcome).
  if (actionSteps(job, GITHUB_SCRIPT)[0]?.env.OUTCOME !== outputOf(detectStep, "outcome")) problems.push(`${at}: the drift issue must follow the outcome of the pulumi preview step`);
  if (!job.concurrency || job.concurrency.cancelInProgress || job.concurrency.group === deployGroup) {
    problems.push(`${at}: needs its own concurrency group per stack, never cancelled and apart from the deploy's (a waiting check would replace a waiting deploy)`);
  }
  return problems;
}

/** The problems with drift.yml's behaviour, one message each. */
export function driftBehaviour(workflow: Workflow, deploy: Workflow, envs: Environments = repoEnvironments()): string[] {
  const problems: string[] = [...otherTriggers(workflow, ["schedule", "workflow_dispatch"])];
  const stacks = envs.list.map((e) => e.stack);
  const on = (workflow.on ?? {}) as { schedule?: { cron?: string }[] };
  const crons = (on.schedule ?? []).map((s) => s.cron ?? "");
  if (crons.length !== 1 || !/^\S+\s+\S+\s+\*\s+\*\s+\*$/.test(crons[0] ?? "")) problems.push("on: expected one daily schedule (cron M H * * *)");
  for (const event of [{ name: "push", branch: DEFAULT_BRANCH }, { name: "pull_request", base: stacks[0] ?? "staging" }] as Event[]) {
    if (run(workflow, event).triggered) problems.push(`${describeEvent(event)}: drift must not start (it runs on schedule and on demand)`);
  }
  const groups = deployGroups(deploy, envs);
  for (const event of [{ name: "schedule" }, { name: "workflow_dispatch" }] as Event[]) {
    const at = describeEvent(event);
    const r = run(workflow, event, { failing: Object.keys(workflow.jobs ?? {}) });
    const checked = jobsRunning(r, "pulumi", "preview");
    const seen = checked.map((j) => optionOf(commandOf(j, "pulumi", "preview"), "--stack") ?? "?");
    if (JSON.stringify(seen) !== JSON.stringify(stacks)) problems.push(`${at}: expected a drift check of each stack [${stacks.join(", ")}], got [${seen.join(", ")}]`);
    for (const job of checked) {
      const stack = optionOf(commandOf(job, "pulumi", "preview"), "--stack") ?? "?";
      problems.push(...stackChecks(job, stack, groups.get(stack), `${at}, stack ${stack}`));
    }
  }
  // Another branch: no role trusts it, so nothing runs.
  const elsewhere: Event = { name: "workflow_dispatch", branch: "feature" };
  const r = run(workflow, elsewhere);
  if (r.jobs.some((j) => commands(j).length > 0)) problems.push(`${describeEvent(elsewhere)}: must run nothing (the drift role trusts the default branch only)`);
  return problems;
}
