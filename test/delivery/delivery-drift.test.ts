/**
 * tools/ci/delivery/: drift told apart from errors, and the drift issue kept in step with it.
 */
import { describe, expect, it } from "vitest";
import { classifyDrift, DRIFT_MARKER, driftedResources, driftIssueBody, syncDriftIssue } from "../../tools/ci/delivery/drift.mts";
import type { IssuesClient } from "../../tools/ci/delivery/drift.mts";
import { BODY_LIMIT } from "../../tools/ci/delivery/text.mts";
import { bytes, PREVIEW_LOG, runUrl } from "../support/delivery-fixtures";

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
