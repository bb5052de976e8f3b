// The deploy keys and GitHub wiring of the project's own stacks, through the real program (index.ts).
import { describe, expect, it } from "vitest";
import * as path from "node:path";
import { findResource, loadStackConfig, resourcesOfType, runProgram, type PlanResult } from "../../tools/engine";

const root = path.resolve(__dirname, "..", "..");

async function stack(name: string): Promise<PlanResult> {
  const { config, secretKeys, main } = loadStackConfig(root, name);
  return runProgram({ stack: name, config, secretKeys, program: main });
}

const DEPLOY_KEY = "github:index/repositoryDeployKey:RepositoryDeployKey";

describe("repository access of the project's stacks", () => {
  it("staging: a key per repository, only the config repo's writable, and no bypass: automation pushes to its own branch", async () => {
    const result = await stack("staging");
    expect(resourcesOfType(result, DEPLOY_KEY).map((r) => [r.inputs.repository, r.inputs.readOnly, r.inputs.title])).toEqual([
      ["gitops-platform", false, "flux staging (config, read-write) gen 0"],
      ["orders", true, "flux staging (app orders, read-only) gen 0"],
      ["payments", true, "flux staging (app payments, read-only) gen 0"],
    ]);
    const ruleset = findResource(result, "github:index/repositoryRuleset:RepositoryRuleset", "staging-github-branch-ruleset");
    expect(ruleset.inputs.conditions).toEqual({ refName: { includes: ["refs/heads/staging"], excludes: [] } });
    expect(ruleset.inputs.bypassActors).toBeUndefined();
    expect((ruleset.inputs.rules as { pullRequest: unknown }).pullRequest).toMatchObject({ requiredApprovingReviewCount: 1, dismissStaleReviewsOnPush: true, requireLastPushApproval: true });
  });

  it("prod: every key read-only, one review, no bypass", async () => {
    const result = await stack("prod");
    expect(resourcesOfType(result, DEPLOY_KEY).map((r) => [r.inputs.repository, r.inputs.readOnly])).toEqual([
      ["gitops-platform", true],
      ["orders", true],
      ["payments", true],
    ]);
    const ruleset = findResource(result, "github:index/repositoryRuleset:RepositoryRuleset", "prod-github-branch-ruleset");
    expect(ruleset.inputs.bypassActors).toBeUndefined();
    expect((ruleset.inputs.rules as { pullRequest: unknown }).pullRequest).toMatchObject({ requiredApprovingReviewCount: 1 });
    expect(resourcesOfType(result, "github:index/actionsVariable:ActionsVariable").map((r) => r.inputs.variableName)).toContain("ECR_REPOSITORY_URL_PROD");
  });

  it("exports each deploy key's title, access and Secret name, and no key material", async () => {
    const result = await stack("prod");
    expect(result.outputs.deployKeys).toMatchObject({
      "acme-corp/gitops-platform": { title: "flux prod (config, read-only) gen 0", readOnly: true, secretName: "flux-system" },
      "acme-corp/orders": { title: "flux prod (app orders, read-only) gen 0", readOnly: true, secretName: "orders-deploy-key" },
    });
    for (const secret of resourcesOfType(result, "kubernetes:core/v1:Secret").filter((r) => r.name.endsWith("-secret"))) {
      expect(secret.secretPaths).toContain("stringData");
    }
    expect(JSON.stringify(result.outputs)).not.toMatch(/PRIVATE KEY|privateKey/);
  });
});
