// The preview workflow's comment shows the offline diff of `plan --diff`, above the cloud preview.
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";
import { planChanges, previewComment } from "../../tools/ci/delivery/preview.mts";

const runUrl = "https://github.com/acme-corp/gitops-platform/actions/runs/1";
const PLAN_LOG = [
  "pulumi:pulumi:Stack  gitops-platform-staging  [component]",
  "",
  "Outputs:",
  "    vpcId: vpc-0ff11e000000000000",
  "",
  "Changes against origin/staging (1):",
  "    +- github:index/repositoryDeployKey:RepositoryDeployKey  key  (replace)",
  '        ~ title: "flux gen 0" → "flux gen 1"   [forces replacement: integrations/terraform-provider-github b6ce8c0 (v6.13.0+27), github/resource_github_repository_deploy_key.go]',
  "",
  "Policy violations, advisory (1):",
  "    [gitops-platform] k8s-image-digest  urn:x",
  "        not pinned",
  "",
  "Resources:",
  "    +- 1 to replace",
  "      106 unchanged",
  "",
  "Policies: 0 mandatory, 1 advisory, 0 notes",
  "",
  "Verdict: OK: no mandatory policy violation; 1 advisory violation to review · stack staging against origin/staging · offline plan, no credentials used",
  "",
].join("\n");

describe("the offline diff in the preview comment", () => {
  it("extracts the changes, the counts and the verdict from the plan log", () => {
    expect(planChanges(PLAN_LOG)).toBe(
      [
        "Changes against origin/staging (1):",
        "    +- github:index/repositoryDeployKey:RepositoryDeployKey  key  (replace)",
        '        ~ title: "flux gen 0" → "flux gen 1"   [forces replacement: integrations/terraform-provider-github b6ce8c0 (v6.13.0+27), github/resource_github_repository_deploy_key.go]',
        "",
        "Resources:",
        "    +- 1 to replace",
        "      106 unchanged",
        "",
        "Verdict: OK: no mandatory policy violation; 1 advisory violation to review · stack staging against origin/staging · offline plan, no credentials used",
      ].join("\n"),
    );
    expect(planChanges("pulumi:pulumi:Stack  x\n\nResources:\n    + 3 to create\n")).toBe("");
  });

  it("puts it above the pulumi preview output, and shows it to forks, which get no preview", () => {
    const trusted = previewComment({ stack: "staging", sha: "abc", runUrl, plan: { exitCode: 0, log: PLAN_LOG }, preview: { exitCode: 0, log: "Resources:\n    1 to replace\n" } });
    const diffAt = trusted.indexOf("<details open><summary>offline diff: what changes against the deployed branch (no credentials used)</summary>\n\n```text\nChanges against origin/staging (1):");
    expect(diffAt).toBeGreaterThan(0);
    expect(diffAt).toBeLessThan(trusted.indexOf("<code>pulumi preview</code> output"));
    const fork = previewComment({ stack: "staging", sha: "abc", runUrl, plan: { exitCode: 0, log: PLAN_LOG }, preview: null });
    expect(fork).toContain("```text\nChanges against origin/staging (1):\n");
  });

  it("is what the workflow runs: the plan diffs against the stack's branch, fetched in full", () => {
    const workflow = load(fs.readFileSync(path.join(__dirname, "..", "..", ".github", "workflows", "preview.yml"), "utf8")) as {
      jobs: { preview: { steps: { name: string; with?: Record<string, unknown>; run?: string }[] } };
    };
    const steps = workflow.jobs.preview.steps;
    expect(steps.find((s) => s.name === "Check out")?.with?.["fetch-depth"]).toBe(0);
    const plan = steps.find((s) => s.name === "Offline plan and policy check");
    expect(plan?.run).toContain('npm run --silent plan -- --stack "$STACK" --diff "origin/$STACK"');
  });
});
