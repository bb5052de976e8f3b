import { describe, expect, it } from "vitest";
import type { RecordedResource } from "../../tools/engine";
import { fluxGitSecret, fluxPinnedVersions, k8sReconcilerNamespaceRestricted, k8sReconcilerNetworkPolicies } from "../../policies/flux-reconciler";
import { GITHUB_KNOWN_HOSTS } from "../../policies/vocabulary";
import { DIGEST, deployment, hardenedContainer, namespace } from "./k8s-fixtures";
import { messages, res, stackUnknownNote, UNKNOWN, violations, withInputs } from "./harness";

describe("k8s-reconciler-namespace-restricted", () => {
  it("passes the reconciler namespace labelled restricted", async () => {
    expect(await messages(k8sReconcilerNamespaceRestricted, [namespace, deployment()])).toEqual([]);
  });

  it("fails a missing label", async () => {
    expect(await messages(k8sReconcilerNamespaceRestricted, [withInputs(namespace, { metadata: { name: "flux-system" } })])).toEqual([
      'reconciler namespace "flux-system" must be labelled pod-security.kubernetes.io/enforce: restricted',
    ]);
  });

  it("fails another level, on a namespace found through the workload that runs in it", async () => {
    const other = res("kubernetes:core/v1:Namespace", "gitops", { metadata: { labels: { "pod-security.kubernetes.io/enforce": "baseline" } } });
    const operator = { ...deployment(), propertyDependencies: { metadata: [other.urn] } };
    expect(await messages(k8sReconcilerNamespaceRestricted, [other, operator])).toEqual([
      'reconciler namespace "gitops" must be labelled pod-security.kubernetes.io/enforce: restricted, got "baseline"',
    ]);
  });

  it("leaves other namespaces alone", async () => {
    expect(await messages(k8sReconcilerNamespaceRestricted, [res("kubernetes:core/v1:Namespace", "apps", { metadata: { name: "apps" } })])).toEqual([]);
  });
});

const networkPolicy = (name: string, spec: object) =>
  res("kubernetes:networking.k8s.io/v1:NetworkPolicy", name, { metadata: { name, namespace: "flux-system" }, spec }, { deps: { metadata: [namespace] } });
const defaultDeny = networkPolicy("default-deny", { podSelector: {}, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: {} }] }] });
const webhooks = networkPolicy("allow-webhooks", {
  podSelector: { matchLabels: { app: "notification-controller" } },
  policyTypes: ["Ingress"],
  ingress: [{ ports: [{ port: 9292, protocol: "TCP" }] }],
});

describe("k8s-reconciler-network-policies", () => {
  it("passes default-deny ingress with the webhook receiver opened", async () => {
    expect(await messages(k8sReconcilerNetworkPolicies, [namespace, deployment(), defaultDeny, webhooks])).toEqual([]);
  });

  it("fails a reconciler namespace without NetworkPolicies", async () => {
    expect(await messages(k8sReconcilerNetworkPolicies, [namespace, deployment()])).toEqual([
      'reconciler namespace "flux-system" has no NetworkPolicy; deny ingress by default and allow only the webhook receiver and metrics',
    ]);
  });

  it("is due once the reconciler runs in the namespace, not for the namespace alone", async () => {
    expect(await messages(k8sReconcilerNetworkPolicies, [namespace])).toEqual([]);
  });

  it("recognises the reconciler's workloads by image repository, not by \"fluxcd\" anywhere in the image", async () => {
    const lookalike = withInputs(deployment({ ...hardenedContainer, image: `ghcr.io/acme/fluxcd-dashboard:v1@${DIGEST}` }), { metadata: { name: "dash", namespace: "tools" } });
    expect(await messages(k8sReconcilerNetworkPolicies, [lookalike])).toEqual([]);
    const controller = withInputs(deployment({ ...hardenedContainer, image: `ghcr.io/fluxcd/source-controller:v1.7.0@${DIGEST}` }), { metadata: { name: "source-controller", namespace: "gitops" } });
    expect(await messages(k8sReconcilerNetworkPolicies, [controller])).toEqual([
      'reconciler namespace "gitops" has no NetworkPolicy; deny ingress by default and allow only the webhook receiver and metrics',
    ]);
  });

  it("finds the namespace of a FluxInstance without a declared Namespace", async () => {
    const instance = res("kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "flux", { metadata: { name: "flux", namespace: "gitops" }, spec: {} });
    expect(await messages(k8sReconcilerNetworkPolicies, [instance])).toEqual([
      'reconciler namespace "gitops" has no NetworkPolicy; deny ingress by default and allow only the webhook receiver and metrics',
    ]);
  });

  it("fails when no policy selects every pod for ingress", async () => {
    expect(await messages(k8sReconcilerNetworkPolicies, [namespace, deployment(), webhooks])).toEqual([
      'reconciler namespace "flux-system" has no NetworkPolicy selecting all its pods for ingress; add one so that only the webhook receiver and metrics are reachable',
    ]);
  });

  it("fails an ingress rule that allows every source on every port", async () => {
    const open = networkPolicy("allow-all", { podSelector: {}, ingress: [{}] });
    expect(await messages(k8sReconcilerNetworkPolicies, [namespace, deployment(), open])).toEqual([
      'NetworkPolicy "allow-all" ingress[0] allows every source on every port; name the sources or ports it needs',
    ]);
  });
});

const gitSecret = res("kubernetes:core/v1:Secret", "config-git", {
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name: "flux-system", namespace: "flux-system" },
  stringData: { identity: UNKNOWN, "identity.pub": UNKNOWN, known_hosts: GITHUB_KNOWN_HOSTS.join("\n") },
});
const gitRepository = res("kubernetes:source.toolkit.fluxcd.io/v1:GitRepository", "config-source", {
  metadata: { name: "flux-system", namespace: "flux-system" },
  spec: { url: "ssh://git@github.com/acme-corp/gitops-platform", secretRef: { name: "flux-system" }, ref: { branch: "staging" } },
});
const withStringData = (stringData: Record<string, unknown>): RecordedResource => withInputs(gitSecret, { stringData });

describe("flux-git-secret", () => {
  it("passes identity, identity.pub and GitHub's published host keys", async () => {
    expect(await messages(fluxGitSecret, [gitSecret, gitRepository])).toEqual([]);
  });

  it("passes a secret without identity.pub, which Flux does not need", async () => {
    expect(await messages(fluxGitSecret, [withStringData({ identity: UNKNOWN, known_hosts: GITHUB_KNOWN_HOSTS.join("\n") }), gitRepository])).toEqual([]);
  });

  it("fails a secret a GitRepository uses that lacks known_hosts", async () => {
    expect(await messages(fluxGitSecret, [withStringData({ identity: UNKNOWN, "identity.pub": UNKNOWN }), gitRepository])).toEqual([
      'git secret "flux-system" is missing known_hosts; Flux\'s SSH authentication needs identity and known_hosts',
    ]);
  });

  it("fails a host key that is not pinned (scanned, hashed or another key)", async () => {
    const scanned = "|1|abc=|def= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
    expect(await messages(fluxGitSecret, [withStringData({ identity: UNKNOWN, "identity.pub": UNKNOWN, known_hosts: `${GITHUB_KNOWN_HOSTS[0]}\n${scanned}` }), gitRepository])).toEqual([
      'known_hosts of git secret "flux-system", line 2 (|1|abc=|def= ssh-ed25519), is not a pinned host key; pin the published host keys instead of scanning them on first use',
    ]);
  });

  it("checks the pull secret of a FluxInstance's sync", async () => {
    const instance = res("kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "flux", {
      metadata: { name: "flux", namespace: "flux-system" },
      spec: { sync: { kind: "GitRepository", url: "ssh://git@github.com/acme-corp/gitops-platform.git", ref: "refs/heads/prod", path: "clusters/prod", pullSecret: "flux-system" } },
    });
    expect(await messages(fluxGitSecret, [withInputs(gitSecret, { stringData: { token: "x" } }), instance])).toEqual([
      'git secret "flux-system" is missing identity and known_hosts; Flux\'s SSH authentication needs identity and known_hosts',
    ]);
  });

  it("reads base64 data as well", async () => {
    const data = { identity: "eA==", "identity.pub": "eA==", known_hosts: Buffer.from("github.com ssh-ed25519 AAAAother").toString("base64") };
    expect(await messages(fluxGitSecret, [withInputs(gitSecret, { stringData: undefined, data }), gitRepository])).toEqual([
      'known_hosts of git secret "flux-system", line 1 (github.com ssh-ed25519), is not a pinned host key; pin the published host keys instead of scanning them on first use',
    ]);
  });

  it("fails an empty known_hosts", async () => {
    expect(await messages(fluxGitSecret, [withStringData({ identity: UNKNOWN, "identity.pub": UNKNOWN, known_hosts: "" }), gitRepository])).toEqual([
      'known_hosts of git secret "flux-system" is empty; pin the published host keys',
    ]);
  });

  it("judges a Secret by the Flux source that refers to it, not by its keys: an unrelated Secret with identity or known_hosts keys passes", async () => {
    const scanned = "github.com ssh-ed25519 AAAAother";
    const unrelated = withInputs(gitSecret, { metadata: { name: "app-ssh", namespace: "apps" }, stringData: { identity: "x", known_hosts: scanned } });
    expect(await messages(fluxGitSecret, [unrelated, gitRepository])).toEqual([]);
    // ... once known and at first preview alike
    expect(await messages(fluxGitSecret, [withInputs(unrelated, { stringData: { identity: UNKNOWN, known_hosts: UNKNOWN } }), gitRepository])).toEqual([]);
  });

  it("judges a Secret referred to by a value computed from it (its name unknown during preview)", async () => {
    const named = withInputs(gitSecret, { metadata: { name: UNKNOWN, namespace: "flux-system" }, stringData: { identity: UNKNOWN } });
    const source = { ...withInputs(gitRepository, { spec: { url: "ssh://git@github.com/acme-corp/gitops-platform", secretRef: { name: UNKNOWN } } }), propertyDependencies: { spec: [named.urn] } };
    expect(await messages(fluxGitSecret, [named, source])).toEqual(['git secret "config-git" is missing known_hosts; Flux\'s SSH authentication needs identity and known_hosts']);
  });

  it("does not judge the credentials of an HTTPS source as SSH keys", async () => {
    const https = withInputs(gitRepository, { spec: { url: "https://github.com/acme-corp/gitops-platform", secretRef: { name: "flux-system" } } });
    expect(await messages(fluxGitSecret, [withStringData({ username: "git", password: "x" }), https])).toEqual([]);
  });

  it("notes known_hosts unknown during preview", async () => {
    const found = await violations(fluxGitSecret, [withStringData({ identity: UNKNOWN, "identity.pub": UNKNOWN, known_hosts: UNKNOWN }), gitRepository]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([
      ["advisory", stackUnknownNote("flux-git-secret", 'kubernetes:core/v1:Secret "config-git": string value at .stringData.known_hosts')],
    ]);
  });
});

const fluxInstance = res("kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "flux", {
  apiVersion: "fluxcd.controlplane.io/v1",
  kind: "FluxInstance",
  metadata: { name: "flux", namespace: "flux-system" },
  spec: { distribution: { version: "2.7.3", registry: "ghcr.io/fluxcd" } },
});

describe("flux-pinned-versions", () => {
  it("passes an exact Flux version", async () => {
    expect(await messages(fluxPinnedVersions, [fluxInstance])).toEqual([]);
  });

  it("fails a version range", async () => {
    expect(await messages(fluxPinnedVersions, [withInputs(fluxInstance, { spec: { distribution: { version: "2.x" } } })])).toEqual([
      'FluxInstance version "2.x" is a range; pin an exact version such as 2.7.3',
    ]);
  });

  it("fails a missing version", async () => {
    expect(await messages(fluxPinnedVersions, [withInputs(fluxInstance, { spec: { distribution: {} } })])).toEqual([
      "FluxInstance must pin spec.distribution.version to an exact version such as 2.7.3",
    ]);
  });

  it("judges a chart by its exact repository and name, not by \"flux\" in its name", async () => {
    const influx = res("kubernetes:helm.sh/v3:Release", "metrics", { chart: "influxdb2", repositoryOpts: { repo: "https://helm.influxdata.com/" }, version: "2.x", namespace: "monitoring" });
    const lookalike = res("kubernetes:helm.sh/v4:Chart", "dashboard", { chart: "oci://ghcr.io/acme/charts/flux-dashboard", version: "1.x" });
    expect(await messages(fluxPinnedVersions, [influx, lookalike])).toEqual([]);
    expect(await messages(k8sReconcilerNetworkPolicies, [influx])).toEqual([]);
    const community = res("kubernetes:helm.sh/v3:Release", "flux", { chart: "flux2", repositoryOpts: { repo: "https://fluxcd-community.github.io/helm-charts/" }, version: "2.x", namespace: "gitops" });
    expect(await messages(fluxPinnedVersions, [community])).toEqual(['chart "flux2" version "2.x" is not exact; pin an exact version']);
    expect(await messages(k8sReconcilerNetworkPolicies, [community])).toEqual([
      'reconciler namespace "gitops" has no NetworkPolicy; deny ingress by default and allow only the webhook receiver and metrics',
    ]);
  });

  it("follows only the reconciler's own release manifests", async () => {
    const other = res("kubernetes:yaml/v2:ConfigFile", "influx", { file: "https://github.com/influxdata/influxdb-flux/releases/latest/download/install.yaml" });
    expect(await messages(fluxPinnedVersions, [other])).toEqual([]);
    const flux = res("kubernetes:yaml/v2:ConfigGroup", "flux", { files: ["https://github.com/fluxcd/flux2/releases/latest/download/install.yaml"] });
    expect(await messages(fluxPinnedVersions, [flux])).toEqual(['manifest "https://github.com/fluxcd/flux2/releases/latest/download/install.yaml" follows the latest release; pin a release tag']);
  });

  it("fails a floating chart version and a latest-release manifest URL", async () => {
    const chart = res("kubernetes:helm.sh/v3:Release", "operator", { chart: "oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator", version: "0.x" });
    const manifest = res("kubernetes:yaml/v2:ConfigFile", "crds", { file: "https://github.com/controlplaneio-fluxcd/flux-operator/releases/latest/download/install.yaml" });
    expect(await messages(fluxPinnedVersions, [chart, manifest])).toEqual([
      'chart "oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator" version "0.x" is not exact; pin an exact version',
      'manifest "https://github.com/controlplaneio-fluxcd/flux-operator/releases/latest/download/install.yaml" follows the latest release; pin a release tag',
    ]);
  });
});
