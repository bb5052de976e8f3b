/**
 * tools/ci/delivery/: the stack settings a workflow resolves from the repository's variables, the
 * preview comment and drift issue that must fit GitHub's limit, and drift told apart from errors.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { IMAGE_TAGS_PATH } from "../../components/k8s/reconciler";
import { automationScope } from "../../tools/ci/delivery/automation.mts";
import { classifyDrift, DRIFT_MARKER, driftedResources, driftIssueBody, syncDriftIssue } from "../../tools/ci/delivery/drift.mts";
import type { IssuesClient } from "../../tools/ci/delivery/drift.mts";
import { main } from "../../tools/ci/delivery/main.mts";
import { PREVIEW_MARKER, previewComment } from "../../tools/ci/delivery/preview.mts";
import { stackSettings } from "../../tools/ci/delivery/settings.mts";
import { BODY_LIMIT, codeBlock, policyCounts, resourceSummary, stripAnsi, truncateMiddle } from "../../tools/ci/delivery/text.mts";

const root = path.resolve(__dirname, "..", "..");
const runUrl = "https://github.com/acme-corp/gitops-platform/actions/runs/42";
const bytes = (text: string) => Buffer.byteLength(text, "utf8");

const STAGING_VARS = {
  PULUMI_BACKEND_URL_STAGING: "s3://acme-gitops-platform-state-staging?region=eu-west-1",
  AWS_PREVIEW_ROLE_ARN_STAGING: "arn:aws:iam::111111111111:role/gitops-platform-preview-staging",
  AWS_DEPLOY_ROLE_ARN: "arn:aws:iam::111111111111:role/gitops-platform-deploy-staging",
};

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    return (error as { problems?: string[] }).problems ?? [String(error)];
  }
  return [];
}

/** A Pulumi log as the CLI prints it with --color never (abridged). */
const PREVIEW_LOG = [
  "Previewing update (staging):",
  "     Type                              Name                        Plan",
  " +   pulumi:pulumi:Stack               gitops-platform-staging     create",
  " +   └─ aws:s3:Bucket                  platform-storage            create",
  "",
  "Policies:",
  "    ❌ gitops-platform@v0.1.0 (local: policies)",
  "        - [mandatory]  s3-public-access-block  (aws:s3/bucket:Bucket: platform-storage)",
  "          Buckets must block all public access.",
  "        - [advisory]  sg-descriptions  (aws:ec2/securityGroup:SecurityGroup: platform-firewall)",
  "",
  "Resources:",
  "    + 2 to create",
  "    12 unchanged",
  "",
].join("\n");

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

describe("text that fits", () => {
  it("leaves short text as it is", () => {
    expect(truncateMiddle("short", 100, runUrl)).toBe("short");
  });

  it("keeps the start and the end of long text, within the byte budget, and says where the rest is", () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ✓`);
    const text = lines.join("\n");
    const cut = truncateMiddle(text, 10_000, runUrl);
    expect(bytes(cut)).toBeLessThanOrEqual(10_000);
    expect(cut.startsWith("line 0 ✓\n")).toBe(true);
    expect(cut.endsWith("line 4999 ✓")).toBe(true);
    expect(cut).toMatch(new RegExp(`\\n… \\d+ characters omitted here; the full output is in the run log: ${runUrl}\\n`));
    expect(cut).not.toContain("\uFFFD");
  });

  it("never splits a character made of two UTF-16 units", () => {
    const cut = truncateMiddle("🙂".repeat(10_000), 1_001, runUrl);
    expect(bytes(cut)).toBeLessThanOrEqual(1_001);
    expect(cut).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
  });

  it("fences code with more backticks than the text holds", () => {
    expect(codeBlock("a ``` b\n")).toBe("````text\na ``` b\n````");
    expect(codeBlock("plain", "diff")).toBe("```diff\nplain\n```");
  });

  it("strips colours", () => {
    expect(stripAnsi("\u001b[32m+ create\u001b[0m")).toBe("+ create");
  });

  it("reads Pulumi's resource summary and policy verdicts", () => {
    expect(resourceSummary(PREVIEW_LOG)).toBe("+ 2 to create, 12 unchanged");
    expect(resourceSummary("no summary")).toBe("");
    expect(policyCounts(PREVIEW_LOG)).toEqual({ mandatory: 1, advisory: 1 });
  });
});

describe("previewComment", () => {
  it("reports both checks, the resource summary and both logs under the marker", () => {
    const body = previewComment({
      stack: "staging",
      sha: "0123456789abcdef0123456789abcdef01234567",
      runUrl,
      plan: { exitCode: 0, log: "plan: 0 mandatory violations" },
      preview: { exitCode: 255, log: PREVIEW_LOG },
    });
    expect(body.startsWith(`${PREVIEW_MARKER}\n### Preview of stack \`staging\`: ❌ failed\n`)).toBe(true);
    expect(body).toContain("| offline plan and policy check (`npm run plan -- --stack staging`) | ✅ passed |");
    expect(body).toContain(
      "| `pulumi preview` with the policy pack | ❌ failed (exit 255): 1 mandatory violation, 1 advisory violation |",
    );
    expect(body).toContain("Resources: + 2 to create, 12 unchanged");
    expect(body).toContain(`Commit \`0123456789ab\` · [run log](${runUrl})`);
    expect(body).toContain("```text\nPreviewing update (staging):");
    expect(body).toContain("```text\nplan: 0 mandatory violations\n```");
  });

  it("passes when both checks pass", () => {
    const body = previewComment({ stack: "prod", sha: "abc", runUrl, plan: { exitCode: 0, log: "" }, preview: { exitCode: 0, log: "Resources:\n    3 unchanged\n" } });
    expect(body).toContain("### Preview of stack `prod`: ✅ passed");
    expect(body).toContain("| `pulumi preview` with the policy pack | ✅ passed |");
  });

  it("tells a fork that the cloud preview was skipped, and shows the offline verdict", () => {
    const body = previewComment({ stack: "staging", sha: "abc", runUrl, plan: { exitCode: 1, log: "mandatory violation" }, preview: null });
    expect(body).toContain("### Preview of stack `staging`: ❌ failed");
    expect(body).toContain("| offline plan and policy check (`npm run plan -- --stack staging`) | ❌ failed (exit 1: config error or mandatory policy violation) |");
    expect(body).toContain("⏭️ skipped: pull requests from forks get no cloud credentials (the offline policy check still ran)");
    expect(body).not.toContain("<code>pulumi preview</code> output");
  });

  it("says when a check did not run", () => {
    const body = previewComment({ stack: "staging", sha: undefined, runUrl, plan: { exitCode: null, log: "" }, preview: { exitCode: null, log: "" } });
    expect(body).toContain("| offline plan and policy check (`npm run plan -- --stack staging`) | ⚠️ did not run |");
    expect(body).toContain("Commit unknown commit");
  });

  it("fits GitHub's limit with megabytes of logs, keeping the policy verdicts at the end", () => {
    const noise = Array.from({ length: 40_000 }, (_, i) => `  ~ kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition crd-${i} update ✓`).join("\n");
    const body = previewComment({
      stack: "prod",
      sha: "abc",
      runUrl,
      plan: { exitCode: 0, log: noise },
      preview: { exitCode: 255, log: `${noise}\n${PREVIEW_LOG}` },
    });
    expect(bytes(body)).toBeLessThanOrEqual(BODY_LIMIT);
    expect(body).toContain("- [mandatory]  s3-public-access-block");
    expect(body).toContain("    12 unchanged");
    expect(body.match(/characters omitted here; the full output is in the run log/g)).toHaveLength(2);
  });
});

describe("drift", () => {
  it("tells clean, drift and errors apart", () => {
    expect(classifyDrift(0, "")).toBe("clean");
    expect(classifyDrift(255, "error: no changes were expected but changes were proposed")).toBe("drift");
    expect(classifyDrift(255, "error: no changes were expected for preview but changes were proposed")).toBe("drift");
    expect(classifyDrift(255, "error: no changes were expected but changes occurred")).toBe("drift");
    expect(classifyDrift(255, "error: the stack is currently locked by 1 lock(s)")).toBe("error");
    expect(classifyDrift(null, "")).toBe("error");
  });

  /** A drift log as `pulumi preview --refresh --diff` prints it (format as quoted in pulumi/mcp-server#1). */
  const DRIFT_LOG = [
    "Previewing update (prod):",
    "  pulumi:pulumi:Stack: (same)",
    "    [urn=urn:pulumi:prod::gitops-platform::pulumi:pulumi:Stack::gitops-platform-prod]",
    "    ~ aws:ec2/securityGroup:SecurityGroup: (update)",
    "        [id=sg-0123]",
    "        [urn=urn:pulumi:prod::gitops-platform::gitops-platform:platform:Platform$gitops-platform:aws:Firewall$aws:ec2/securityGroup:SecurityGroup::prod-firewall-sg]",
    '      ~ description: "Entry point" => "changed by hand"',
    "    + aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule: (create)",
    "        [urn=urn:pulumi:prod::gitops-platform::aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::prod-firewall-ingress-0-0]",
    "    ~ kubernetes:core/v1:ConfigMap: (update)",
    "        [id=flux-system/platform-metadata]",
    "        [urn=urn:pulumi:prod::gitops-platform::kubernetes:core/v1:ConfigMap::prod|weird-name]",
    "    ~ aws:ec2/securityGroup:SecurityGroup: (update)",
    "        [urn=urn:pulumi:prod::gitops-platform::gitops-platform:platform:Platform$gitops-platform:aws:Firewall$aws:ec2/securityGroup:SecurityGroup::prod-firewall-sg]",
    "    aws:s3/bucket:Bucket: (read)",
    "        [urn=urn:pulumi:prod::gitops-platform::aws:s3/bucket:Bucket::prod-storage-bucket]",
    "error: no changes were expected but changes were proposed",
    "Resources:",
    "    + 1 to create",
    "    ~ 2 to update",
    "    40 unchanged",
    "",
  ].join("\n");

  it("names each resource that differs, once, with its change, and nothing that is the same or only read", () => {
    expect(driftedResources(DRIFT_LOG).map((r) => [r.operation, r.type, r.name])).toEqual([
      ["update", "aws:ec2/securityGroup:SecurityGroup", "prod-firewall-sg"],
      ["create", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "prod-firewall-ingress-0-0"],
      ["update", "kubernetes:core/v1:ConfigMap", "prod|weird-name"],
    ]);
    expect(driftedResources("error: the stack is currently locked")).toEqual([]);
  });

  it("writes an issue that links the run and lists the resources that differ", () => {
    const body = driftIssueBody({ stack: "prod", sha: "0123456789abcdef", runUrl, log: DRIFT_LOG, detectedAt: "2026-11-21T05:17:00Z" });
    expect(body).toContain(`Detected 2026-11-21T05:17:00Z at commit \`0123456789ab\` of branch \`prod\` · [run log](${runUrl})`);
    expect(body).toContain(
      [
        "### 3 resources differ",
        "",
        "| resource | type | change |",
        "| --- | --- | --- |",
        "| `prod-firewall-sg` | `aws:ec2/securityGroup:SecurityGroup` | update |",
        "| `prod-firewall-ingress-0-0` | `aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule` | create |",
        "| `prod\\|weird-name` | `kubernetes:core/v1:ConfigMap` | update |",
      ].join("\n"),
    );
    const unnamed = driftIssueBody({ stack: "prod", sha: undefined, runUrl, log: "error: no changes were expected but changes were proposed", detectedAt: "t" });
    expect(unnamed).toContain("### 0 resources differ\n\nThe log names no changed resource; see the output below.");
  });

  it("writes an issue body with the marker, the summary and the log, under the limit", () => {
    const body = driftIssueBody({ stack: "prod", sha: "0123456789abcdef", runUrl, log: `${"x\n".repeat(60_000)}${PREVIEW_LOG}`, detectedAt: "2026-11-21T05:17:00Z" });
    expect(body.startsWith(`${DRIFT_MARKER}\n\`pulumi preview --refresh --expect-no-changes --stack prod\` found differences`)).toBe(true);
    expect(body).toContain(`Detected 2026-11-21T05:17:00Z at commit \`0123456789ab\` of branch \`prod\` · [run log](${runUrl})`);
    expect(body).toContain("Resources: + 2 to create, 12 unchanged");
    expect(bytes(body)).toBeLessThanOrEqual(BODY_LIMIT);
  });
});

describe("syncDriftIssue", () => {
  type Call = { method: string; params: Record<string, unknown> };
  function fake(handlers: Record<string, (params: Record<string, unknown>) => unknown>) {
    const calls: Call[] = [];
    const log: string[] = [];
    const method = (name: string) => async (params: Record<string, unknown>) => {
      calls.push({ method: name, params });
      const handler = handlers[name];
      if (!handler) throw new Error(`unexpected call ${name}`);
      return { data: await handler(params) };
    };
    const issues = {
      listForRepo: method("issues.listForRepo"),
      create: method("issues.create"),
      update: method("issues.update"),
      createComment: method("issues.createComment"),
      getLabel: method("issues.getLabel"),
      createLabel: method("issues.createLabel"),
    };
    const github: IssuesClient = { rest: { issues }, paginate: async (fn, p) => (await (fn as (p: Record<string, unknown>) => Promise<{ data: unknown }>)(p)).data };
    const core = { info: (m: string) => log.push(`info: ${m}`), warning: (m: string) => log.push(`warning: ${m}`), setFailed: (m: string) => log.push(`failed: ${m}`) };
    return { github, core, calls, log };
  }
  const where = { owner: "acme-corp", repo: "gitops-platform", runUrl };
  const bot = { login: "github-actions[bot]" };
  const mine = { number: 3, title: "Drift detected: prod", user: bot, html_url: "https://github.com/i/3" };

  it("opens the stack's issue with the report, labelled drift, creating the label once", async () => {
    const f = fake({
      "issues.listForRepo": () => [{ ...mine, title: "Drift detected: staging" }, { ...mine, number: 4, pull_request: {} }, { ...mine, number: 5, user: { login: "someone" } }],
      "issues.getLabel": () => {
        throw Object.assign(new Error("Not Found"), { status: 404 });
      },
      "issues.createLabel": () => ({}),
      "issues.create": () => ({ number: 6, html_url: "https://github.com/i/6" }),
    });
    const result = await syncDriftIssue({ github: f.github, core: f.core, ...where, stack: "prod", outcome: "drift", body: "report" });
    expect(result).toEqual({ action: "opened", number: 6 });
    expect(f.calls.map((c) => c.method)).toEqual(["issues.listForRepo", "issues.getLabel", "issues.createLabel", "issues.create"]);
    expect(f.calls[3]?.params).toEqual({ owner: "acme-corp", repo: "gitops-platform", title: "Drift detected: prod", body: "report", labels: ["drift"] });
    expect(f.log).toEqual(["warning: stack prod has drifted: opened https://github.com/i/6"]);
  });

  it("updates its open issue while the drift lasts, and closes it with the run link once clean", async () => {
    const drift = fake({ "issues.listForRepo": () => [mine], "issues.update": () => ({}) });
    expect(await syncDriftIssue({ github: drift.github, core: drift.core, ...where, stack: "prod", outcome: "drift", body: "new report" })).toEqual({ action: "updated", number: 3 });
    expect(drift.calls[1]?.params).toEqual({ owner: "acme-corp", repo: "gitops-platform", issue_number: 3, body: "new report" });

    const clean = fake({ "issues.listForRepo": () => [mine], "issues.createComment": () => ({}), "issues.update": () => ({}) });
    expect(await syncDriftIssue({ github: clean.github, core: clean.core, ...where, stack: "prod", outcome: "clean", body: "" })).toEqual({ action: "closed", number: 3 });
    expect(clean.calls.map((c) => c.method)).toEqual(["issues.listForRepo", "issues.createComment", "issues.update"]);
    expect(clean.calls[1]?.params.body).toBe(`No drift on \`prod\` any more ([run log](${runUrl})): closing.`);
    expect(clean.calls[2]?.params).toEqual({ owner: "acme-corp", repo: "gitops-platform", issue_number: 3, state: "closed", state_reason: "completed" });
  });

  it("closes nothing it did not open, and fails on an unknown outcome", async () => {
    const person = fake({ "issues.listForRepo": () => [{ ...mine, user: { login: "someone" } }] });
    expect(await syncDriftIssue({ github: person.github, core: person.core, ...where, stack: "prod", outcome: "clean", body: "" })).toEqual({ action: "none" });
    expect(person.log).toEqual(["info: stack prod: no drift"]);
    const odd = fake({ "issues.listForRepo": () => [] });
    expect(await syncDriftIssue({ github: odd.github, core: odd.core, ...where, stack: "prod", outcome: "error", body: "" })).toEqual({ action: "failed" });
    expect(odd.log).toEqual(['failed: unexpected drift outcome "error"']);
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

describe("automationScope", () => {
  const automation = (name: string, spec: Record<string, unknown>) => ({
    type: "kubernetes:image.toolkit.fluxcd.io/v1:ImageUpdateAutomation",
    inputs: { kind: "ImageUpdateAutomation", metadata: { name, namespace: "flux-system" }, spec },
  });
  const policy = (name: string, namespace = "flux-system", labels: Record<string, string> = { "gitops-platform/app": name }) => ({
    type: "kubernetes:image.toolkit.fluxcd.io/v1:ImagePolicy",
    inputs: { kind: "ImagePolicy", metadata: { name, namespace, labels } },
  });
  const spec = (app: string, push = "image-updates/staging", path = "./clusters/base") => ({
    git: { checkout: { ref: { branch: "staging" } }, push: { branch: push } },
    policySelector: { matchLabels: { "gitops-platform/app": app } },
    update: { path, strategy: "Setters" },
  });

  it("is what the staging stack's program declares: its update path and its automated apps' policies", () => {
    const run = spawnSync(process.execPath, [path.join(root, "tools", "plan", "cli.mts"), "--stack", "staging", "--json", "--no-policy"], {
      cwd: root,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(automationScope(JSON.parse(run.stdout))).toEqual([
      { base: "staging", head: "image-updates/staging", paths: [`${IMAGE_TAGS_PATH}/`], policies: ["flux-system:orders"] },
    ]);
  }, 60_000);

  it("groups automations by branch pair and keeps only the policies their selectors pick", () => {
    const plan = {
      resources: [
        policy("orders"),
        policy("web"),
        policy("payments"),
        policy("orders", "other-namespace"),
        automation("orders", spec("orders")),
        automation("web", spec("web", "image-updates/staging", "clusters/web/")),
        automation("all", { ...spec("x", "image-updates/all"), policySelector: undefined }),
      ],
    };
    expect(automationScope(plan)).toEqual([
      { base: "staging", head: "image-updates/staging", paths: ["clusters/base/", "clusters/web/"], policies: ["flux-system:orders", "flux-system:web"] },
      { base: "staging", head: "image-updates/all", paths: ["clusters/base/"], policies: ["flux-system:orders", "flux-system:payments", "flux-system:web"] },
    ]);
    expect(automationScope({ resources: [policy("orders")] })).toEqual([]);
  });

  it("refuses automations it cannot scope, naming each field", () => {
    const plan = {
      resources: [
        automation("up", spec("up", "image-updates/staging", "../elsewhere")),
        automation("root", spec("root", "image-updates/staging", "./")),
        automation("same", spec("same", "staging")),
        automation("strategy", { ...spec("strategy"), update: { path: "clusters/base" } }),
        automation("unknown", { ...spec("unknown"), git: { checkout: { ref: {} }, push: { branch: "image-updates/staging" } } }),
      ],
    };
    expect(() => automationScope(plan)).toThrow(
      [
        'ImageUpdateAutomation flux-system/up: spec.update.path: expected a directory of the repository, got "../elsewhere"',
        'ImageUpdateAutomation flux-system/root: spec.update.path: expected a directory of the repository, got "./"',
        "ImageUpdateAutomation flux-system/same: pushes to its checkout branch staging: there is no automation pull request to review",
        "ImageUpdateAutomation flux-system/strategy: spec.update.strategy: expected Setters, got undefined",
        "ImageUpdateAutomation flux-system/unknown: spec.git.checkout.ref.branch: expected a branch name",
      ].join("\n"),
    );
    expect(() => automationScope({ stack: "staging" })).toThrow("plan: expected the JSON of `npm run plan -- --json` (a resources list)");
  });

  it("writes the scope as the step output scope", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "scope-"));
    const planFile = path.join(dir, "plan.json");
    const output = path.join(dir, "output");
    fs.writeFileSync(planFile, JSON.stringify({ resources: [policy("orders"), automation("orders", spec("orders"))] }));
    const out: string[] = [];
    const io = { stdout: (t: string) => void out.push(t), stderr: (t: string) => void out.push(t) };
    expect(main(["automation-scope", "--plan", planFile], { GITHUB_OUTPUT: output }, io)).toBe(0);
    expect(fs.readFileSync(output, "utf8")).toBe(
      'scope=[{"base":"staging","head":"image-updates/staging","paths":["clusters/base/"],"policies":["flux-system:orders"]}]\n',
    );
    expect(out).toEqual(["image-updates/staging -> staging: tags of flux-system:orders under clusters/base/\n"]);
    fs.writeFileSync(planFile, "plan: failed");
    out.length = 0;
    expect(main(["automation-scope", "--plan", planFile], {}, io)).toBe(1);
    expect(out[0]).toMatch(/^::error::.*plan\.json: expected the JSON of `npm run plan -- --json` \(/);
    // One plan per stack that runs image automation, their scopes together; none: nothing to propose.
    const devPlan = path.join(dir, "plan-dev.json");
    fs.writeFileSync(planFile, JSON.stringify({ resources: [policy("orders"), automation("orders", spec("orders"))] }));
    fs.writeFileSync(devPlan, JSON.stringify({ resources: [] }));
    out.length = 0;
    expect(main(["automation-scope", "--plan", devPlan, "--plan", planFile], { GITHUB_OUTPUT: output }, io)).toBe(0);
    expect(out).toEqual(["image-updates/staging -> staging: tags of flux-system:orders under clusters/base/\n"]);
    fs.rmSync(output);
    out.length = 0;
    expect(main(["automation-scope"], { GITHUB_OUTPUT: output }, io)).toBe(0);
    expect(fs.readFileSync(output, "utf8")).toBe("scope=[]\n");
    expect(out).toEqual(["no image automation\n"]);
  });
});
