/**
 * tools/ci/delivery/: text that fits GitHub's limit, and the preview comment built from it.
 */
import { describe, expect, it } from "vitest";
import { PREVIEW_MARKER, previewComment } from "../../tools/ci/delivery/preview.mts";
import { BODY_LIMIT, codeBlock, policyCounts, resourceSummary, stripAnsi, truncateMiddle } from "../../tools/ci/delivery/text.mts";
import { bytes, PREVIEW_LOG, runUrl } from "../support/delivery-fixtures";

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
