import { describe, expect, it } from "vitest";
import type { RecordedResource } from "../../tools/engine";
import { githubActionsSettings, githubDeployKeyReadOnly, githubDeployKeyUnique, githubNoBypass, githubRulesetReview } from "../../policies/github";
import { messages, res, stagingRuleset, UNKNOWN, unknownNote, violations, withInputs, withStagingRules } from "./harness";

const DEPLOY_KEY = "github:index/repositoryDeployKey:RepositoryDeployKey";
const PRIVATE_KEY = "tls:index/privateKey:PrivateKey";

const configKey = res(PRIVATE_KEY, "config-key", { algorithm: "ED25519" });
const ordersKey = res(PRIVATE_KEY, "orders-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
const deployKey = (name: string, repository: string, key: RecordedResource, readOnly: boolean) =>
  res(DEPLOY_KEY, name, { repository, title: `flux ${name}`, key: UNKNOWN, readOnly }, { deps: { key: [key] } });
const configDeployKey = deployKey("config-deploy-key", "gitops-platform", configKey, false);
const ordersDeployKey = deployKey("orders-deploy-key", "orders", ordersKey, true);

const gitRepository = res("kubernetes:source.toolkit.fluxcd.io/v1:GitRepository", "config-source", {
  apiVersion: "source.toolkit.fluxcd.io/v1",
  kind: "GitRepository",
  metadata: { name: "flux-system", namespace: "flux-system" },
  spec: { url: "ssh://git@github.com/acme-corp/gitops-platform.git", ref: { branch: "staging" }, secretRef: { name: "flux-system" } },
});
const automation = res("kubernetes:image.toolkit.fluxcd.io/v1beta2:ImageUpdateAutomation", "orders-automation", {
  apiVersion: "image.toolkit.fluxcd.io/v1beta2",
  kind: "ImageUpdateAutomation",
  metadata: { name: "orders", namespace: "flux-system" },
  spec: { sourceRef: { kind: "GitRepository", name: "flux-system" }, git: { push: { branch: "staging" } }, update: { path: "./clusters/staging" } },
});
const good = [configKey, ordersKey, configDeployKey, ordersDeployKey, gitRepository, automation];

describe("github-deploy-key-read-only", () => {
  it("passes a read-write key on the repository image automation pushes to, read-only elsewhere", async () => {
    expect(await messages(githubDeployKeyReadOnly, good)).toEqual([]);
  });

  it("fails a read-write key on a repository no automation writes to", async () => {
    const writable = withInputs(ordersDeployKey, { readOnly: false });
    expect(await messages(githubDeployKeyReadOnly, [configKey, ordersKey, configDeployKey, writable, gitRepository, automation])).toEqual([
      'deploy key for repository "orders" has write access but no image automation in this stack writes to that repository; set readOnly: true',
    ]);
  });

  it("fails the config repository's read-write key once the automation is gone", async () => {
    expect(await messages(githubDeployKeyReadOnly, [configKey, configDeployKey, gitRepository])).toEqual([
      'deploy key for repository "gitops-platform" has write access but no image automation in this stack writes to that repository; set readOnly: true',
    ]);
  });

  it("follows automation to the repository a FluxInstance syncs", async () => {
    const instance = res("kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "flux", {
      metadata: { name: "flux", namespace: "flux-system" },
      spec: { sync: { kind: "GitRepository", url: "ssh://git@github.com/acme-corp/gitops-platform.git", ref: "refs/heads/staging", path: "clusters/staging", pullSecret: "flux-system" } },
    });
    expect(await messages(githubDeployKeyReadOnly, [configKey, configDeployKey, instance, automation])).toEqual([]);
  });

  it("accepts repositories the config names as written elsewhere", async () => {
    expect(await messages(githubDeployKeyReadOnly, [configKey, configDeployKey], { config: { writableRepositories: ["acme-corp/gitops-platform"] } })).toEqual([]);
  });
});

describe("github-deploy-key-unique", () => {
  it("passes one ED25519 or ECDSA key per repository", async () => {
    expect(await messages(githubDeployKeyUnique, good)).toEqual([]);
  });

  it("fails a second key on the same repository", async () => {
    const secondKey = res(PRIVATE_KEY, "orders-second-key", { algorithm: "ED25519" });
    const second = deployKey("orders-second", "orders", secondKey, true);
    expect(await messages(githubDeployKeyUnique, [...good, secondKey, second])).toEqual(['repository "orders" already has the deploy key "orders-deploy-key"; declare one key per repository']);
  });

  it("fails a key pair used for two repositories", async () => {
    const shared = deployKey("payments-deploy-key", "payments", ordersKey, true);
    expect(await messages(githubDeployKeyUnique, [...good, shared])).toEqual([
      'deploy key reuses the public key of deploy key "orders-deploy-key"; generate a distinct key per repository',
    ]);
  });

  it("fails the same literal public key twice", async () => {
    const literal = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOfakefakefakefakefakefakefakefakefakefakefake flux";
    const a = res(DEPLOY_KEY, "a", { repository: "a", key: literal, readOnly: true });
    const b = res(DEPLOY_KEY, "b", { repository: "b", key: `${literal} other-comment`, readOnly: true });
    expect(await messages(githubDeployKeyUnique, [a, b])).toEqual(['deploy key reuses the public key of deploy key "a"; generate a distinct key per repository']);
  });

  it("fails an RSA key pair", async () => {
    const rsa = res(PRIVATE_KEY, "orders-key", { algorithm: "RSA", rsaBits: 4096 });
    expect(await messages(githubDeployKeyUnique, [configKey, rsa, configDeployKey, deployKey("orders-deploy-key", "orders", rsa, true)])).toEqual([
      'deploy key uses the RSA key "orders-key"; use ED25519 (or ECDSA), never RSA',
    ]);
  });

  it("fails a literal RSA public key", async () => {
    const key = res(DEPLOY_KEY, "legacy", { repository: "legacy", key: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ legacy", readOnly: true });
    expect(await messages(githubDeployKeyUnique, [key])).toEqual(["deploy key is a ssh-rsa key; use ED25519 (or ECDSA), never RSA"]);
  });

  it("fails ECDSA on tls's default curve P224, which SSH does not accept", async () => {
    const p224 = withInputs(ordersKey, { ecdsaCurve: undefined });
    expect(await messages(githubDeployKeyUnique, [configKey, p224, configDeployKey, ordersDeployKey])).toEqual([
      'deploy key uses the ECDSA curve P224 (key "orders-key"), which SSH does not accept; use P256 or stronger, or ED25519',
    ]);
  });

  it("notes an algorithm unknown during preview", async () => {
    const unknown = withInputs(ordersKey, { algorithm: UNKNOWN });
    const found = await violations(githubDeployKeyUnique, [configKey, unknown, configDeployKey, ordersDeployKey]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([["advisory", unknownNote("github-deploy-key-unique", "algorithm")]]);
  });
});

const ruleset = stagingRuleset;
const rules = withStagingRules;

describe("github-deploy-key-read-only in a stack that never writes (allowWrite: false)", () => {
  it("fails every read-write key, even on the repository automation writes to", async () => {
    expect(await messages(githubDeployKeyReadOnly, good, { config: { allowWrite: false } })).toEqual([
      'deploy key for repository "gitops-platform" has write access; every key of this stack is read-only (it never writes to Git); set readOnly: true',
    ]);
  });

  it("passes read-only keys", async () => {
    const readOnly = withInputs(configDeployKey, { readOnly: true });
    expect(await messages(githubDeployKeyReadOnly, [configKey, ordersKey, readOnly, ordersDeployKey], { config: { allowWrite: false } })).toEqual([]);
  });
});

describe("github-no-bypass", () => {
  it("passes a ruleset without bypass actors and a branch protection that binds admins", async () => {
    const protection = res("github:index/branchProtection:BranchProtection", "main", { repositoryId: "r", pattern: "main", enforceAdmins: true });
    expect(await messages(githubNoBypass, [ruleset, protection])).toEqual([]);
  });

  it("fails a ruleset that lets deploy keys (or anyone) through", async () => {
    const bypassed = withInputs(ruleset, { bypassActors: [{ actorType: "DeployKey", bypassMode: "always" }, { actorType: "RepositoryRole", actorId: 5, bypassMode: "always" }] });
    expect(await messages(githubNoBypass, [bypassed])).toEqual([
      "ruleset lets DeployKey, RepositoryRole bypass it; remove bypassActors: image automation reaches the environment branch by a pull request that merges itself once the checks pass",
    ]);
  });

  it("fails an organization ruleset with bypass actors", async () => {
    const org = res("github:index/organizationRuleset:OrganizationRuleset", "org", { name: "org", target: "branch", enforcement: "active", bypassActors: [{ actorType: "OrganizationAdmin", actorId: 1, bypassMode: "always" }] });
    expect(await messages(githubNoBypass, [org])).toEqual([
      "ruleset lets OrganizationAdmin bypass it; remove bypassActors: image automation reaches the environment branch by a pull request that merges itself once the checks pass",
    ]);
  });

  it("fails classic branch protection that admins bypass", async () => {
    const protection = res("github:index/branchProtection:BranchProtection", "main", { repositoryId: "r", pattern: "main" });
    expect(await messages(githubNoBypass, [protection])).toEqual(["branch protection lets admins bypass it; set enforceAdmins: true (or use a ruleset without bypass actors)"]);
  });
});

describe("github-ruleset-review", () => {
  it("passes the environment-branch ruleset", async () => {
    expect(await messages(githubRulesetReview, [ruleset])).toEqual([]);
  });

  it("fails a ruleset that is not enforced, takes no pull request, no check, and allows force pushes and deletion", async () => {
    const weak = withInputs(ruleset, { enforcement: "evaluate", rules: { requiredStatusChecks: { requiredChecks: [] } } });
    expect(await messages(githubRulesetReview, [weak])).toEqual([
      "at least one required status check (the preview) must pass; add rules.requiredStatusChecks",
      "changes must arrive by pull request; add rules.pullRequest",
      "deleting the branch must be blocked; set rules.deletion: true",
      'enforcement is "evaluate"; set it to "active"',
      "force pushes must be blocked; set rules.nonFastForward: true",
    ]);
  });

  it("fails too few approving reviews: one by default, on every environment, or the stack's own minimum", async () => {
    const unreviewed = rules({ pullRequest: { requiredApprovingReviewCount: 0, allowedMergeMethods: ["merge"] } });
    expect(await messages(githubRulesetReview, [unreviewed])).toEqual(["pull requests need at least 1 approving review, got 0"]);
    expect(await messages(githubRulesetReview, [ruleset])).toEqual([]);
    expect(await messages(githubRulesetReview, [ruleset], { config: { minimumApprovingReviews: 2 } })).toEqual(["pull requests need at least 2 approving reviews, got 1"]);
    expect(await messages(githubRulesetReview, [unreviewed], { config: { minimumApprovingReviews: 0 } })).toEqual([]);
  });

  it("fails a required check any App or token with statuses: write could satisfy", async () => {
    const unpinned = rules({ requiredStatusChecks: { requiredChecks: [{ context: "preview", integrationId: 15368 }, { context: "policy" }] } });
    expect(await messages(githubRulesetReview, [unpinned])).toEqual([
      'required check "policy" accepts a status of that name from anyone with statuses: write; pin integrationId to the App that runs it (GitHub Actions: 15368)',
    ]);
  });

  it("leaves tag rulesets alone", async () => {
    const tags = withInputs(ruleset, { target: "tag", rules: {}, conditions: { refName: { includes: ["refs/tags/v*"], excludes: [] } } });
    expect(await messages(githubRulesetReview, [tags], { config: { protectedBranches: ["staging", "prod"] } })).toEqual([]);
  });
});

describe("github-actions-settings", () => {
  const settings = res("github:index/workflowRepositoryPermissions:WorkflowRepositoryPermissions", "actions-settings", {
    repository: "gitops-platform",
    defaultWorkflowPermissions: "read",
    canApprovePullRequestReviews: false,
  });

  it("passes a read-only default token and no pull request approvals by Actions", async () => {
    expect(await messages(githubActionsSettings, [settings])).toEqual([]);
  });

  it("fails a write default, Actions that approve pull requests, and settings left to defaults", async () => {
    expect(await messages(githubActionsSettings, [withInputs(settings, { defaultWorkflowPermissions: "write", canApprovePullRequestReviews: true })])).toEqual([
      "canApprovePullRequestReviews is true; set false: otherwise a pull request's own workflow can approve it",
      'defaultWorkflowPermissions is "write"; set "read": a workflow asks for the write scopes it needs',
    ]);
    const org = res("github:index/actionsOrganizationWorkflowPermissions:ActionsOrganizationWorkflowPermissions", "org-settings", { organizationSlug: "acme-corp" });
    expect(await messages(githubActionsSettings, [org])).toEqual([
      "canApprovePullRequestReviews is null; set false: otherwise a pull request's own workflow can approve it",
      'defaultWorkflowPermissions is null; set "read": a workflow asks for the write scopes it needs',
    ]);
  });
});
