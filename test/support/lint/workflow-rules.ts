/**
 * What each delivery workflow must do, beyond the generic hardening every workflow follows
 * (tools/build/workflow-hardening.mts): the rules the per-workflow tests hold each file to. Each
 * check returns the problems it finds, one message each, so tests assert on the exact message and on
 * small bad fixtures.
 */
import * as path from "node:path";
import { readEnvironments, type Environments } from "../../../components/config/environments";
import { generatedLists } from "../../../tools/generate/environments";
import { APP_TOKEN, AWS_CREDENTIALS, GITHUB_SCRIPT, commandsOf, concurrencyOf, grantsOf, jobsOf, pulumiCommands, secretsIn, stepsOf, triggers, usesAction } from "../../../tools/build/workflow-hardening.mts";
import type { Job, Step, Workflow } from "../../../tools/build/workflow-hardening.mts";

export { auditWorkflow, parseWorkflow, usesLines } from "../../../tools/build/workflow-hardening.mts";
export type { Step, Workflow, Job, Concurrency } from "../../../tools/build/workflow-hardening.mts";

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
export function repoEnvironments(rootDir: string = path.resolve(__dirname, "..", "..", "..")): Environments {
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
  // deployed commit say (tools/generate/environments.ts --promotes-to).
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
    problems.push("job drift: expected a github-script that calls syncDriftIssue of tools/ci/delivery/drift.mts");
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
 * automation.yml: on the default branch only (schedule, dispatch), in the environment that runs image automation, the
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
  const automationEnvironment = generatedLists(repoEnvironments())["automation-environment"]?.[0];
  if (job.environment !== automationEnvironment) problems.push(`job automation-pr: environment must be ${automationEnvironment} (the deploy App's key of the environment that runs image automation)`);
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
      /\nnode tools\/ci\/delivery\/main\.mts automation-scope "\$\{plans\[@\]\}"\s*$/.test(s.run),
  );
  if (!reads?.id || scope.outputs?.scope !== `\${{ steps.${reads.id}.outputs.scope }}`) {
    problems.push("job scope: expected its output scope from `node tools/ci/delivery/main.mts automation-scope` over the plan (--json) of each stack that runs image automation");
  }
  const script = findStep(job, (s) => usesAction(s, GITHUB_SCRIPT));
  if (!same(job.needs, "scope") || script?.env?.SCOPE !== "${{ needs.scope.outputs.scope }}") {
    problems.push("job automation-pr: expected needs: scope and the script's SCOPE from needs.scope.outputs.scope");
  }
  return problems;
}
