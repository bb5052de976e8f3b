import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { githubRulesetPromotion, imageAutomationNoProdPush, imageAutomationStagingOnly } from "../../policies/promotion";
import { messages, res, stagingRuleset, UNKNOWN, unknownNote, violations, withInputs, withStagingRules } from "./harness";

const source = res("kubernetes:source.toolkit.fluxcd.io/v1:GitRepository", "config-source", {
  metadata: { name: "flux-system", namespace: "flux-system" },
  spec: { url: "ssh://git@github.com/acme-corp/gitops-platform", ref: { branch: "prod" } },
});
const automation = res("kubernetes:image.toolkit.fluxcd.io/v1beta2:ImageUpdateAutomation", "orders", {
  metadata: { name: "orders", namespace: "flux-system" },
  spec: { sourceRef: { kind: "GitRepository", name: "flux-system" }, git: { checkout: { ref: { branch: "prod" } }, push: { branch: "image-updates/prod" } } },
});
const git = (value: object) => withInputs(automation, { spec: { sourceRef: { kind: "GitRepository", name: "flux-system" }, git: value } });

describe("image-automation-no-prod-push", () => {
  it("passes automation that pushes to its own branch", async () => {
    expect(await messages(imageAutomationNoProdPush, [source, automation])).toEqual([]);
  });

  it("fails a push to prod", async () => {
    expect(await messages(imageAutomationNoProdPush, [source, git({ push: { branch: "prod" } })])).toEqual([
      'image automation pushes to the protected branch "prod"; push to another branch (e.g. image-updates/prod) and promote by pull request',
    ]);
  });

  it("fails a refspec that lands on prod", async () => {
    expect(await messages(imageAutomationNoProdPush, [source, git({ push: { refspec: "refs/heads/auto:refs/heads/prod" } })])).toEqual([
      'image automation pushes to the protected branch "prod"; push to another branch (e.g. image-updates/prod) and promote by pull request',
    ]);
  });

  it("fails automation without a push branch on a source that checks out prod", async () => {
    expect(await messages(imageAutomationNoProdPush, [source, git({ commit: { author: { name: "flux" } } })])).toEqual([
      'image automation pushes to the protected branch "prod"; push to another branch (e.g. image-updates/prod) and promote by pull request',
    ]);
  });

  it("reads the checkout branch of the source a FluxInstance syncs", async () => {
    const instance = res("kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "flux", {
      metadata: { name: "flux", namespace: "flux-system" },
      spec: { sync: { kind: "GitRepository", url: "ssh://git@github.com/acme-corp/gitops-platform.git", ref: "refs/heads/prod", path: "clusters/prod" } },
    });
    expect(await messages(imageAutomationNoProdPush, [instance, git({ commit: { author: { name: "flux" } } })])).toEqual([
      'image automation pushes to the protected branch "prod"; push to another branch (e.g. image-updates/prod) and promote by pull request',
    ]);
  });

  it("passes staging automation pushing to its environment branch", async () => {
    expect(await messages(imageAutomationNoProdPush, [git({ push: { branch: "staging" } })])).toEqual([]);
  });

  it("fails when the push branch cannot be told", async () => {
    expect(await messages(imageAutomationNoProdPush, [git({})])).toEqual([
      "image automation's push branch cannot be determined; set spec.git.push.branch to a branch that is not protected",
    ]);
  });

  it("takes the protected branches from the config", async () => {
    expect(await messages(imageAutomationNoProdPush, [git({ push: { branch: "main" } })], { config: { protectedBranches: ["main"] } })).toHaveLength(1);
  });

  it("refuses a push to any production branch the generated policy config lists, a second production stack's too", async () => {
    const config = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "policies", "config", "non-production.json"), "utf8")) as Record<string, { protectedBranches?: string[] }>;
    // What `npm run environments -- --write` wrote from the stack files: every production branch.
    expect(config["image-automation-no-prod-push"]?.protectedBranches).toEqual(["prod"]);
    expect(await messages(imageAutomationNoProdPush, [git({ push: { branch: "prod-us" } })], { config: { protectedBranches: ["prod", "prod-us"] } })).toEqual([
      'image automation pushes to the protected branch "prod-us"; push to another branch (e.g. image-updates/prod-us) and promote by pull request',
    ]);
  });

  it("notes a push branch unknown during preview", async () => {
    const found = await violations(imageAutomationNoProdPush, [source, git({ push: { branch: UNKNOWN } })]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([["advisory", unknownNote("image-automation-no-prod-push", "spec.git.push.branch")]]);
  });
});

const stagingAutomation = (push: object) =>
  withInputs(automation, { spec: { sourceRef: { kind: "GitRepository", name: "flux-system" }, git: { checkout: { ref: { branch: "staging" } }, push } } });

describe("image-automation-no-prod-push and the stack's rulesets", () => {
  it("fails automation pushing to a branch the stack's ruleset guards (no bypass: the push would be refused)", async () => {
    expect(await messages(imageAutomationNoProdPush, [stagingRuleset, stagingAutomation({ branch: "staging" })])).toEqual([
      'image automation pushes to "staging", which the ruleset "staging-branch-ruleset" lets nobody push to; push to its own branch (e.g. image-updates/staging) and let a pull request that merges itself once the checks pass carry it there',
    ]);
  });

  it("passes automation pushing to its own branch next to that ruleset", async () => {
    expect(await messages(imageAutomationNoProdPush, [stagingRuleset, stagingAutomation({ branch: "image-updates/staging" })])).toEqual([]);
  });
});

describe("image-automation-staging-only", () => {
  it("fails any image automation in the stack", async () => {
    expect(await messages(imageAutomationStagingOnly, [source, automation])).toEqual([
      "image automation runs only in non-production stacks; this stack receives new image tags with the promotion pull request from its upstream",
    ]);
  });

  it("passes a stack without image automation", async () => {
    expect(await messages(imageAutomationStagingOnly, [source, stagingRuleset])).toEqual([]);
  });
});

describe("github-ruleset-promotion", () => {
  const rules = withStagingRules;

  it("passes merge commits, no up-to-date requirement, no linear history", async () => {
    expect(await messages(githubRulesetPromotion, [stagingRuleset])).toEqual([]);
  });

  it("fails 'require branches to be up to date', which deadlocks the next promotion", async () => {
    const strict = rules({ requiredStatusChecks: { requiredChecks: [{ context: "preview" }], strictRequiredStatusChecksPolicy: true } });
    expect(await messages(githubRulesetPromotion, [strict])).toEqual([
      "requires branches to be up to date (strictRequiredStatusChecksPolicy): after a promotion's merge commit lands on prod, the next staging -> prod pull request is out of date and updating it needs a push to staging that its ruleset refuses; set it to false",
    ]);
  });

  it("fails linear history and merge methods other than merge commits, or none named", async () => {
    const squash = rules({ requiredLinearHistory: true, pullRequest: { requiredApprovingReviewCount: 0, allowedMergeMethods: ["merge", "squash"] } });
    expect(await messages(githubRulesetPromotion, [squash])).toEqual([
      'allows merge methods merge, squash; set rules.pullRequest.allowedMergeMethods to ["merge"]: a squashed or rebased promotion or back-merge rewrites history, and every later promotion re-merges old changes',
      "requires linear history, which refuses the merge commits promotion relies on; remove requiredLinearHistory",
    ]);
    const unnamed = rules({ pullRequest: { requiredApprovingReviewCount: 0 } });
    expect(await messages(githubRulesetPromotion, [unnamed])).toEqual([
      'allows merge methods (the repository\'s settings); set rules.pullRequest.allowedMergeMethods to ["merge"]: a squashed or rebased promotion or back-merge rewrites history, and every later promotion re-merges old changes',
    ]);
  });
});
