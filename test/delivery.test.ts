/**
 * tools/delivery.cjs: the stack settings a workflow resolves from the repository's variables, the
 * preview comment and drift issue that must fit GitHub's limit, and drift told apart from errors.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  BODY_LIMIT,
  DRIFT_MARKER,
  PREVIEW_MARKER,
  classifyDrift,
  codeBlock,
  driftIssueBody,
  main,
  policyCounts,
  previewComment,
  resourceSummary,
  stackSettings,
  stripAnsi,
  truncateMiddle,
} from "../tools/delivery.cjs";

const root = path.resolve(__dirname, "..");
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
    });
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
    expect(problemsOf(() => stackSettings({ rootDir: root, stack: "staging", role: "admin", vars: {} }))).toEqual(['role "admin": expected preview or deploy']);
  });

  it("refuses a stack file without region or account", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-"));
    fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), "config:\n  gitops-platform:environment: staging\n");
    expect(problemsOf(() => stackSettings({ rootDir: dir, stack: "staging", role: "preview", vars: STAGING_VARS }))).toEqual([
      "Pulumi.staging.yaml: aws:region: expected an AWS region such as eu-west-1",
      "Pulumi.staging.yaml: gitops-platform:aws.accountId: expected a 12-digit account id",
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
      "| `pulumi preview` with the policy pack (`policies/config/staging.json`) | ❌ failed (exit 255): 1 mandatory violation, 1 advisory violation |",
    );
    expect(body).toContain("Resources: + 2 to create, 12 unchanged");
    expect(body).toContain(`Commit \`0123456789ab\` · [run log](${runUrl})`);
    expect(body).toContain("```text\nPreviewing update (staging):");
    expect(body).toContain("```text\nplan: 0 mandatory violations\n```");
  });

  it("passes when both checks pass", () => {
    const body = previewComment({ stack: "prod", sha: "abc", runUrl, plan: { exitCode: 0, log: "" }, preview: { exitCode: 0, log: "Resources:\n    3 unchanged\n" } });
    expect(body).toContain("### Preview of stack `prod`: ✅ passed");
    expect(body).toContain("| `pulumi preview` with the policy pack (`policies/config/prod.json`) | ✅ passed |");
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

  it("writes an issue body with the marker, the summary and the log, under the limit", () => {
    const body = driftIssueBody({ stack: "prod", sha: "0123456789abcdef", runUrl, log: `${"x\n".repeat(60_000)}${PREVIEW_LOG}`, detectedAt: "2026-11-21T05:17:00Z" });
    expect(body.startsWith(`${DRIFT_MARKER}\n\`pulumi preview --refresh --expect-no-changes --stack prod\` found differences`)).toBe(true);
    expect(body).toContain(`Detected 2026-11-21T05:17:00Z at commit \`0123456789ab\` · [run log](${runUrl})`);
    expect(body).toContain("Resources: + 2 to create, 12 unchanged");
    expect(bytes(body)).toBeLessThanOrEqual(BODY_LIMIT);
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
        "",
      ].join("\n"),
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
