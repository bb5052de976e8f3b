/**
 * tools/ci/delivery/: the stack settings a workflow resolves from the repository's variables, and
 * the command line the workflows run. The preview comment, the drift report and the automation
 * scope have their own files beside this one.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { DRIFT_MARKER } from "../../tools/ci/delivery/drift.mts";
import { main } from "../../tools/ci/delivery/main.mts";
import { stackSettings } from "../../tools/ci/delivery/settings.mts";
import { PREVIEW_LOG, STAGING_VARS } from "../support/delivery-fixtures";

const root = path.resolve(__dirname, "..", "..");

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    return (error as { problems?: string[] }).problems ?? [String(error)];
  }
  return [];
}

describe("stackSettings", () => {
  it("resolves the preview role and backend of a stack from its repository variables and stack file", () => {
    expect(stackSettings({ rootDir: root, stack: "staging", role: "preview", vars: STAGING_VARS })).toEqual({
      backendUrl: "s3://acme-gitops-platform-state-staging?region=eu-west-1",
      roleArn: "arn:aws:iam::111111111111:role/gitops-platform-preview-staging",
      region: "eu-west-1",
      accountId: "111111111111",
      githubOwner: "acme-corp",
      githubRepositories: ["gitops-platform", "orders", "payments"],
      policyConfig: "policies/config/non-production.json",
    });
  });

  it("runs the pack with the stack's own policy config, else the levels its kind (production or not) implies", () => {
    const vars = { PULUMI_BACKEND_URL_PROD: "s3://acme-gitops-platform-state-prod", AWS_PREVIEW_ROLE_ARN_PROD: "arn:aws:iam::222222222222:role/prod-ci-preview" };
    expect(stackSettings({ rootDir: root, stack: "prod", role: "preview", vars }).policyConfig).toBe("policies/config/production.json");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-policy-"));
    try {
      fs.copyFileSync(path.join(root, "Pulumi.prod.yaml"), path.join(dir, "Pulumi.prod.yaml"));
      expect(stackSettings({ rootDir: dir, stack: "prod", role: "preview", vars }).policyConfig).toBe("policies/config/production.json");
      fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), fs.readFileSync(path.join(root, "Pulumi.prod.yaml"), "utf8").replace("gitops-platform:production: true", "gitops-platform:production: false"));
      expect(stackSettings({ rootDir: dir, stack: "prod", role: "preview", vars }).policyConfig).toBe("policies/config/non-production.json");
      fs.mkdirSync(path.join(dir, "policies", "config"), { recursive: true });
      fs.writeFileSync(path.join(dir, "policies", "config", "prod.json"), "{}\n");
      expect(stackSettings({ rootDir: dir, stack: "prod", role: "preview", vars }).policyConfig).toBe("policies/config/prod.json");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("takes the drift role from its own repository variable per stack", () => {
    const vars = { PULUMI_BACKEND_URL_PROD: "s3://acme-gitops-platform-state-prod", AWS_DRIFT_ROLE_ARN_PROD: "arn:aws:iam::222222222222:role/prod-ci-drift-1" };
    expect(stackSettings({ rootDir: root, stack: "prod", role: "drift", vars }).roleArn).toBe("arn:aws:iam::222222222222:role/prod-ci-drift-1");
    expect(problemsOf(() => stackSettings({ rootDir: root, stack: "prod", role: "drift", vars: { PULUMI_BACKEND_URL_PROD: "s3://b-prod" } }))).toEqual([
      "repository variable AWS_DRIFT_ROLE_ARN_PROD (stack output driftRoleArn of prod) is not set",
    ]);
  });

  it("scopes the App token to the stack's own repositories, all of one owner", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-"));
    const stackFile = (apps: string) =>
      fs.writeFileSync(
        path.join(dir, "Pulumi.staging.yaml"),
        `config:\n  aws:region: eu-west-1\n  gitops-platform:aws:\n    accountId: "111111111111"\n  gitops-platform:github:\n    owner: acme-corp\n    configRepo:\n      repo: acme-corp/config\n  gitops-platform:apps:\n${apps}`,
      );
    stackFile("    - repo: acme-corp/orders\n    - repo: acme-corp/orders\n");
    expect(stackSettings({ rootDir: dir, stack: "staging", role: "preview", vars: STAGING_VARS }).githubRepositories).toEqual(["config", "orders"]);
    stackFile("    - repo: other-org/orders\n    - repo: orders\n");
    expect(problemsOf(() => stackSettings({ rootDir: dir, stack: "staging", role: "preview", vars: STAGING_VARS }))).toEqual([
      "Pulumi.staging.yaml: repository other-org/orders is not owned by acme-corp: one App installation token covers one owner",
      'Pulumi.staging.yaml: repository "orders": expected owner/name',
    ]);
  });

  it("takes the deploy role from the environment's AWS_DEPLOY_ROLE_ARN", () => {
    expect(stackSettings({ rootDir: root, stack: "staging", role: "deploy", vars: STAGING_VARS }).roleArn).toBe(
      "arn:aws:iam::111111111111:role/gitops-platform-deploy-staging",
    );
  });

  it("names every missing variable and where its value comes from", () => {
    expect(problemsOf(() => stackSettings({ rootDir: root, stack: "prod", role: "preview", vars: {} }))).toEqual([
      "repository variable PULUMI_BACKEND_URL_PROD is not set: expected s3://<state bucket>?region=<region> (docs/delivery.md)",
      "repository variable AWS_PREVIEW_ROLE_ARN_PROD (stack output previewRoleArn of prod) is not set",
    ]);
    expect(problemsOf(() => stackSettings({ rootDir: root, stack: "prod", role: "deploy", vars: { PULUMI_BACKEND_URL_PROD: "s3://b-prod" } }))).toEqual([
      'variable AWS_DEPLOY_ROLE_ARN of the GitHub environment "prod" (stack output deployRoleArn of prod) is not set',
    ]);
  });

  it("refuses a role of another stack's account", () => {
    const vars = { ...STAGING_VARS, PULUMI_BACKEND_URL_PROD: "s3://acme-gitops-platform-state-prod", AWS_PREVIEW_ROLE_ARN_PROD: STAGING_VARS.AWS_PREVIEW_ROLE_ARN_STAGING };
    expect(problemsOf(() => stackSettings({ rootDir: root, stack: "prod", role: "preview", vars }))).toEqual([
      "repository variable AWS_PREVIEW_ROLE_ARN_PROD (stack output previewRoleArn of prod): the role is in account 111111111111, but stack prod deploys to account 222222222222",
    ]);
  });

  it("refuses values that are not a backend URL or a role ARN", () => {
    const vars = { PULUMI_BACKEND_URL_STAGING: "https://api.pulumi.com", AWS_PREVIEW_ROLE_ARN_STAGING: "arn:aws:iam::111111111111:user/ci" };
    expect(problemsOf(() => stackSettings({ rootDir: root, stack: "staging", role: "preview", vars }))).toEqual([
      'repository variable PULUMI_BACKEND_URL_STAGING: "https://api.pulumi.com" is not an S3 backend URL (s3://<state bucket>?region=<region>)',
      'repository variable AWS_PREVIEW_ROLE_ARN_STAGING (stack output previewRoleArn of staging): "arn:aws:iam::111111111111:user/ci" is not an IAM role ARN',
    ]);
  });

  it("refuses unknown stacks, bad stack names and roles", () => {
    expect(problemsOf(() => stackSettings({ rootDir: root, stack: "qa", role: "preview", vars: {} }))[0]).toBe("Pulumi.qa.yaml: no such stack config file");
    expect(problemsOf(() => stackSettings({ rootDir: root, stack: "../prod", role: "preview", vars: {} }))).toEqual([
      'stack "../prod": expected a stack name such as staging or prod',
    ]);
    expect(problemsOf(() => stackSettings({ rootDir: root, stack: "staging", role: "admin", vars: {} }))).toEqual(['role "admin": expected preview, drift or deploy']);
  });

  it("refuses a stack file without region or account", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-"));
    fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), "config:\n  gitops-platform:environment: staging\n");
    expect(problemsOf(() => stackSettings({ rootDir: dir, stack: "staging", role: "preview", vars: STAGING_VARS }))).toEqual([
      "Pulumi.staging.yaml: aws:region: expected an AWS region such as eu-west-1",
      "Pulumi.staging.yaml: gitops-platform:aws.accountId: expected a 12-digit account id",
      "Pulumi.staging.yaml: gitops-platform:github.owner: expected a GitHub user or organization name",
    ]);
  });
});

describe("the command line", () => {
  function run(argv: string[], env: Record<string, string> = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "delivery-"));
    const output = path.join(dir, "output");
    const summary = path.join(dir, "summary");
    let stdout = "";
    let stderr = "";
    const status = main(argv, { GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary, GITHUB_REPOSITORY: "acme-corp/gitops-platform", GITHUB_RUN_ID: "42", ...env }, {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
    });
    const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
    return { status, stdout, stderr, output: read(output), summary: read(summary), dir };
  }

  it("stack-settings writes the step outputs", () => {
    const result = run(["stack-settings", "--stack", "staging", "--role", "preview"], { VARS: JSON.stringify(STAGING_VARS) });
    expect(result.status).toBe(0);
    expect(result.output).toBe(
      [
        "backend-url=s3://acme-gitops-platform-state-staging?region=eu-west-1",
        "role-arn=arn:aws:iam::111111111111:role/gitops-platform-preview-staging",
        "region=eu-west-1",
        "account-id=111111111111",
        "github-owner=acme-corp",
        "github-repositories=gitops-platform,orders,payments",
        "policy-config=policies/config/non-production.json",
        "",
      ].join("\n"),
    );
  });

  it("stack-settings reads the stack file of another checkout with --root", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "checkout-"));
    fs.copyFileSync(path.join(root, "Pulumi.prod.yaml"), path.join(dir, "Pulumi.prod.yaml"));
    const vars = { PULUMI_BACKEND_URL_PROD: "s3://acme-gitops-platform-state-prod", AWS_DRIFT_ROLE_ARN_PROD: "arn:aws:iam::222222222222:role/prod-ci-drift-1" };
    const result = run(["stack-settings", "--stack", "prod", "--role", "drift", "--root", dir], { VARS: JSON.stringify(vars) });
    expect(result.status).toBe(0);
    expect(result.output).toContain("role-arn=arn:aws:iam::222222222222:role/prod-ci-drift-1\nregion=eu-west-1\naccount-id=222222222222\n");
    expect(run(["stack-settings", "--stack", "staging", "--role", "drift", "--root", dir], { VARS: JSON.stringify(vars) }).stderr).toContain(
      "::error::Pulumi.staging.yaml: no such stack config file",
    );
  });

  it("stack-settings fails with one annotation per problem", () => {
    const result = run(["stack-settings", "--stack", "prod", "--role", "deploy"], { VARS: "{}" });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      [
        "::error::repository variable PULUMI_BACKEND_URL_PROD is not set: expected s3://<state bucket>?region=<region> (docs/delivery.md)",
        '::error::variable AWS_DEPLOY_ROLE_ARN of the GitHub environment "prod" (stack output deployRoleArn of prod) is not set',
        "",
      ].join("\n"),
    );
    expect(result.output).toBe("");
  });

  it("preview-comment writes the comment, the multi-line output and the job summary", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "logs-"));
    fs.writeFileSync(path.join(dir, "plan.log"), "plan ok\n");
    fs.writeFileSync(path.join(dir, "preview.log"), PREVIEW_LOG);
    const out = path.join(dir, "comment.md");
    const result = run([
      "preview-comment", "--stack", "staging", "--sha", "abc",
      "--plan-exit", "0", "--plan-log", path.join(dir, "plan.log"),
      "--preview-exit", "255", "--preview-log", path.join(dir, "preview.log"),
      "--out", out,
    ]);
    expect(result.status).toBe(0);
    const body = fs.readFileSync(out, "utf8");
    expect(body).toContain(`[run log](https://github.com/acme-corp/gitops-platform/actions/runs/42)`);
    const match = /^body<<(EOF_[0-9a-f]{32})\n([\s\S]*)\n\1\n$/.exec(result.output);
    expect(match?.[2]).toBe(body);
    expect(result.summary).toBe(`${body}\n`);
  });

  it("preview-comment without a preview log reports a fork", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "logs-"));
    const out = path.join(dir, "comment.md");
    expect(run(["preview-comment", "--stack", "staging", "--plan-exit", "0", "--plan-log", path.join(dir, "none.log"), "--out", out]).status).toBe(0);
    expect(fs.readFileSync(out, "utf8")).toContain("⏭️ skipped: pull requests from forks");
  });

  it("drift-report sets the outcome and fails on errors", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "logs-"));
    const log = path.join(dir, "drift.log");
    const out = path.join(dir, "drift.md");
    fs.writeFileSync(log, `${PREVIEW_LOG}error: no changes were expected but changes were proposed\n`);
    const drift = run(["drift-report", "--stack", "prod", "--exit-code", "255", "--log", log, "--out", out]);
    expect([drift.status, drift.output]).toEqual([0, "outcome=drift\n"]);
    expect(fs.readFileSync(out, "utf8").startsWith(DRIFT_MARKER)).toBe(true);

    const clean = run(["drift-report", "--stack", "prod", "--exit-code", "0", "--log", log, "--out", out]);
    expect([clean.status, clean.output, fs.readFileSync(out, "utf8")]).toEqual([0, "outcome=clean\n", ""]);

    fs.writeFileSync(log, "error: the stack is currently locked by 1 lock(s)\n");
    const error = run(["drift-report", "--stack", "prod", "--exit-code", "255", "--log", log, "--out", out]);
    expect([error.status, error.output]).toEqual([1, "outcome=error\n"]);
    expect(error.stderr).toBe("::error::pulumi preview of stack prod failed (exit 255) for a reason other than drift; see the log above\n");
  });

  it("refuses unknown commands, options and exit statuses", () => {
    expect(run(["deploy"]).status).toBe(2);
    expect(run(["stack-settings", "--bogus"]).status).toBe(2);
    const bad = run(["drift-report", "--stack", "prod", "--exit-code", "x", "--out", "/dev/null"]);
    expect([bad.status, bad.stderr]).toEqual([1, '::error::--exit-code "x": expected an exit status\n']);
  });
});
