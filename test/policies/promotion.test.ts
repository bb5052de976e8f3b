import { describe, expect, it } from "vitest";
import { imageAutomationNoProdPush } from "../../policies/promotion";
import { messages, res, UNKNOWN, unknownNote, violations, withInputs } from "./harness";

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

  it("notes a push branch unknown during preview", async () => {
    const found = await violations(imageAutomationNoProdPush, [source, git({ push: { branch: UNKNOWN } })]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([["advisory", unknownNote("image-automation-no-prod-push", "spec.git.push.branch")]]);
  });
});
