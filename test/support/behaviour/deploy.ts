/**
 * deploy.yml, by what it does: a push to an environment branch runs `pulumi up` of that stack, in
 * the GitHub environment of that name, with the stack's deploy role and a deploy App token scoped to
 * the stack's repositories, never cancelled and never queued behind another environment; a
 * successful deploy opens one promotion pull request per downstream environment, with a token that
 * can do no more than that. Nothing else starts it.
 */
import type { Environments } from "../../../components/config/environments";
import { commands, type Event, type JobRun, type Run } from "../workflow-sim";
import type { Workflow } from "../../../tools/build/workflow-hardening.mts";
import { APP_TOKEN, AWS_CREDENTIALS, CHECKOUT, DEFAULT_BRANCH, GITHUB_SCRIPT, REPOSITORY_NAME, actionsBesides, appTokenSteps, actionSteps, failsItsJob, otherTriggers, commandOf, delivery, describeEvent, grants, hasExactly, jobsRunning, narrowedTo, optionOf, outputOf, repoEnvironments, run, stepOf, tokenUses } from "./common";

/** What must not start a deploy. */
function notDeploying(envs: Environments): Event[] {
  const first = envs.list[0]?.stack ?? "staging";
  return [
    { name: "push", branch: DEFAULT_BRANCH },
    { name: "push", branch: `${first}-hotfix` },
    { name: "push", tag: "v1.0.0" },
    { name: "pull_request", base: first },
    { name: "workflow_dispatch" },
    { name: "schedule" },
  ];
}

/** The deploy job of a run: the one job that runs `pulumi up`. */
function deployJob(r: Run, at: string, problems: string[]): JobRun | undefined {
  const found = jobsRunning(r, "pulumi", "up");
  if (found.length !== 1) problems.push(`${at}: expected one job that runs pulumi up, found ${found.length}`);
  return found[0];
}

/** What a push to one environment branch does, up to the end of `pulumi up`. */
function deployChecks(job: JobRun, stack: string, at: string): string[] {
  const problems: string[] = [];
  if (job.environment !== stack) problems.push(`${at}: pulumi up runs in GitHub environment ${job.environment ?? "(none)"}, expected ${stack} (its reviewers, deploy role and App key)`);
  if (!hasExactly(job, { contents: "read", "id-token": "write" })) problems.push(`${at}: the deploy job's token has ${grants(job)}, expected exactly {"contents":"read","id-token":"write"}`);
  const up = commandOf(job, "pulumi", "up");
  const upStep = stepOf(job, "pulumi", "up");
  const { step: settings, command: settingsCommand } = delivery(job, "stack-settings");
  if (optionOf(settingsCommand, "--stack") !== stack || optionOf(settingsCommand, "--role") !== "deploy") {
    problems.push(`${at}: expected stack-settings --stack ${stack} --role deploy, got ${settingsCommand?.join(" ") ?? "none"}`);
  }
  if (optionOf(up, "--stack") !== stack || !up?.includes("--yes")) problems.push(`${at}: pulumi up must update stack ${stack} (--stack ${stack} --yes), got ${up?.join(" ")}`);
  if (upStep && !failsItsJob(upStep)) problems.push(`${at}: a failed pulumi up must fail the deploy job (shell: bash for pipefail; no continue-on-error, set +e or ||): a failed deploy promotes nothing`);
  const others = commands(job).filter((c) => c[0] === "pulumi" && !["login", "up", "version"].includes(c[1] ?? ""));
  if (others.length > 0 || commands(job).filter((c) => c[0] === "pulumi" && c[1] === "up").length !== 1) {
    problems.push(`${at}: the deploy job runs pulumi login and one pulumi up only, got also: ${others.map((c) => c.join(" ")).join("; ") || "another pulumi up"}`);
  }
  if (optionOf(up, "--policy-pack") !== "policies" || optionOf(up, "--policy-pack-config") !== outputOf(settings, "policy-config")) {
    problems.push(`${at}: pulumi up must run the policy pack (--policy-pack policies) with the stack's policy config (stack-settings output policy-config)`);
  }
  const roles = actionSteps(job, AWS_CREDENTIALS);
  if (roles.length !== 1 || roles[0]?.with["role-to-assume"] !== outputOf(settings, "role-arn") || (roles[0]?.index ?? Infinity) > (upStep?.index ?? -1)) {
    problems.push(`${at}: before pulumi up, the job must assume exactly the role stack-settings --role deploy names (its output role-arn)`);
  }
  const login = commandOf(job, "pulumi", "login");
  if (login?.[2] !== outputOf(settings, "backend-url")) problems.push(`${at}: pulumi must log in to the backend stack-settings names (its output backend-url)`);
  // The deploy App's token: scoped to the stack's repositories, minted last, handed to pulumi only.
  const apps = appTokenSteps(job, "DEPLOY_APP_CLIENT_ID", "DEPLOY_APP_PRIVATE_KEY");
  const app = apps[0];
  if (apps.length !== 1 || !app) return [...problems, `${at}: expected one deploy App token (vars.DEPLOY_APP_CLIENT_ID, secrets.DEPLOY_APP_PRIVATE_KEY)`];
  if (app.with.owner !== outputOf(settings, "github-owner") || app.with.repositories !== outputOf(settings, "github-repositories")) {
    problems.push(`${at}: the deploy App token must be scoped to the stack's owner and repositories (stack-settings outputs github-owner, github-repositories)`);
  }
  const token = outputOf(app, "token") ?? "(no id)";
  if (upStep?.env.GITHUB_TOKEN !== token) problems.push(`${at}: pulumi up must get the deploy App token as GITHUB_TOKEN`);
  const uses = tokenUses(job, token);
  if (uses.length !== 1) problems.push(`${at}: the deploy App token may reach pulumi up only, but reaches: ${uses.join("; ") || "nothing"}`);
  if (upStep && app.index !== upStep.index - 1) problems.push(`${at}: the deploy App token must be minted right before pulumi up (it lives an hour)`);
  return problems;
}

/** What a successful deploy of one environment promotes, and how. */
function promotionChecks(workflow: Workflow, stack: string, downstream: readonly string[], deployId: string, deployGroup: string | undefined, at: string): string[] {
  const problems: string[] = [];
  const r = run(workflow, { name: "push", branch: stack }, { outputs: { [deployId]: { "promotes-to": JSON.stringify(downstream) } } });
  if (r.errors.length > 0) problems.push(`${at}: jobs fail to start: ${r.errors.join("; ")}`);
  const promoters = r.jobs.filter((j) => j.id !== deployId);
  const bases = promoters.map((j) => actionSteps(j, GITHUB_SCRIPT)[0]?.env.BASE ?? "?");
  if (JSON.stringify(bases) !== JSON.stringify(downstream)) {
    problems.push(`${at}: after a successful deploy, expected one promotion pull request into each of [${downstream.join(", ")}], got [${bases.join(", ")}]`);
  }
  for (const job of promoters) {
    const script = actionSteps(job, GITHUB_SCRIPT)[0];
    const base = script?.env.BASE ?? "?";
    const where = `${at}, promotion into ${base}`;
    if (script?.env.HEAD !== stack) problems.push(`${where}: the pull request must come from ${stack}, got ${script?.env.HEAD ?? "none"}`);
    if (job.environment !== stack) problems.push(`${where}: must run in the deployed environment ${stack} (its deploy App key), got ${job.environment ?? "(none)"}`);
    if (!hasExactly(job, { contents: "read" })) problems.push(`${where}: the job token has ${grants(job)}, expected exactly {"contents":"read"} (it writes with the App token)`);
    const app = appTokenSteps(job, "DEPLOY_APP_CLIENT_ID", "DEPLOY_APP_PRIVATE_KEY")[0];
    const narrowed = app ? narrowedTo(app) : {};
    if (!app || app.with.repositories !== REPOSITORY_NAME || JSON.stringify(narrowed) !== JSON.stringify({ contents: "read", "pull-requests": "write" })) {
      problems.push(`${where}: expected a deploy App token for this repository only, narrowed to {"contents":"read","pull-requests":"write"}, got ${JSON.stringify(narrowed)}`);
    }
    if (app && script?.with["github-token"] !== outputOf(app, "token")) problems.push(`${where}: the pull request must be opened with the App token (a workflow token's pull request starts no preview)`);
    if (commands(job).length > 0) problems.push(`${where}: runs shell commands (${commands(job)[0]?.join(" ")}); it holds a write token and runs none`);
    const foreign = actionsBesides(job, APP_TOKEN, CHECKOUT, GITHUB_SCRIPT);
    if (foreign.length > 0) problems.push(`${where}: uses ${foreign.join(", ")}; a job holding a write token uses ${APP_TOKEN}, ${CHECKOUT} and ${GITHUB_SCRIPT} only`);
    const refs = actionSteps(job, CHECKOUT).map((c) => c.with.ref ?? "(default)");
    if (refs.some((ref) => ref !== "⟨github.sha⟩")) problems.push(`${where}: may check out the deployed commit only (⟨github.sha⟩), got ${refs.join(", ")}`);
    const group = job.concurrency;
    if (!group || group.cancelInProgress || group.group === deployGroup) problems.push(`${where}: needs its own concurrency group, never cancelled, apart from the deploy's`);
  }
  const groups = new Set(promoters.map((j) => j.concurrency?.group));
  if (groups.size !== promoters.length) problems.push(`${at}: the promotions share a concurrency group: one would replace another`);
  const failed = run(workflow, { name: "push", branch: stack }, { outputs: { [deployId]: { "promotes-to": JSON.stringify(downstream) } }, failing: [deployId] });
  if (failed.jobs.some((j) => j.id !== deployId)) problems.push(`${at}: a failed deploy must promote nothing`);
  return problems;
}

/** The problems with deploy.yml's behaviour, one message each. */
export function deployBehaviour(workflow: Workflow, envs: Environments = repoEnvironments()): string[] {
  const problems: string[] = [];
  const allFailing = { failing: Object.keys(workflow.jobs ?? {}) };
  problems.push(...otherTriggers(workflow, ["push"]));
  for (const event of notDeploying(envs)) {
    if (run(workflow, event, allFailing).triggered) problems.push(`${describeEvent(event)}: deploy must not start (only a push to an environment branch deploys)`);
  }
  const groups = new Map<string, string>();
  for (const env of envs.list) {
    const event: Event = { name: "push", branch: env.stack };
    const at = describeEvent(event);
    // Every job failing first: the deploy job then runs alone, its outputs as the run would set them.
    const probe = run(workflow, event, allFailing);
    if (!probe.triggered) {
      problems.push(`${at}: deploy does not start`);
      continue;
    }
    const job = deployJob(probe, at, problems);
    if (!job) continue;
    problems.push(...deployChecks(job, env.stack, at));
    const concurrency = job.concurrency ?? probe.concurrency;
    if (!concurrency || concurrency.cancelInProgress) problems.push(`${at}: a running pulumi up could be cancelled by the next push: expected a concurrency group with cancel-in-progress false`);
    const shared = [...groups].find(([, g]) => g === concurrency?.group)?.[0];
    if (concurrency && shared !== undefined) problems.push(`${at}: shares the concurrency group ${concurrency.group} with ${shared}: one environment's deploy would wait for the other's`);
    if (concurrency) groups.set(env.stack, concurrency.group);
    const reader = stepOf(job, "npm", "run", "--silent", "environments", "--", "--promotes-to", env.stack);
    if (!reader || job.outputs["promotes-to"] !== outputOf(reader, "promotes-to")) {
      problems.push(`${at}: the deploy job's output promotes-to must be what npm run environments -- --promotes-to ${env.stack} prints`);
    }
    problems.push(...promotionChecks(workflow, env.stack, env.downstream, job.id, concurrency?.group, at));
    // Whatever the stack files say: the promotions follow the deploy job's reading, not a list of their own.
    const other = ["other-a", "other-b"];
    const followed = run(workflow, event, { outputs: { [job.id]: { "promotes-to": JSON.stringify(other) } } }).jobs.filter((j) => j.id !== job.id);
    const bases = followed.map((j) => actionSteps(j, GITHUB_SCRIPT)[0]?.env.BASE ?? "?");
    const heads = [...new Set(followed.map((j) => actionSteps(j, GITHUB_SCRIPT)[0]?.env.HEAD ?? "?"))];
    if (heads.some((h) => h !== env.stack)) problems.push(`${at}: a promotion pull request must come from ${env.stack}, got ${heads.join(", ")}`);
    if (JSON.stringify(bases) !== JSON.stringify(other)) problems.push(`${at}: when the deploy job reads [${other.join(", ")}], expected a promotion into each of them, got [${bases.join(", ")}]`);
  }
  return problems;
}
