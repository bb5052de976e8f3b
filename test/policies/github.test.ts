import { describe, expect, it } from "vitest";
import type { RecordedResource } from "../../tools/engine";
import { githubDeployKeyReadOnly, githubDeployKeyUnique } from "../../policies/github";
import { messages, res, UNKNOWN, unknownNote, violations, withInputs } from "./harness";

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
