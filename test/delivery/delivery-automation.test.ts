/**
 * tools/ci/delivery/: the image automation scope a workflow derives from the stack's program.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { IMAGE_TAGS_PATH } from "../../components/k8s/reconciler";
import { automationScope } from "../../tools/ci/delivery/automation.mts";
import { main } from "../../tools/ci/delivery/main.mts";

const root = path.resolve(__dirname, "..", "..");

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
