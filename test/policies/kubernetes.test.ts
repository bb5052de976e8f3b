import { describe, expect, it } from "vitest";
import type { RecordedResource } from "../../tools/engine";
import {
  fluxGitSecret,
  fluxPinnedVersions,
  GITHUB_KNOWN_HOSTS,
  k8sImageDigest,
  k8sPodSecurity,
  k8sReconcilerNamespaceRestricted,
  k8sReconcilerNetworkPolicies,
  k8sResourcesProbes,
} from "../../policies/kubernetes";
import { messages, res, UNKNOWN, unknownNote, violations, withInputs } from "./harness";

const DIGEST = `sha256:${"a".repeat(64)}`;
const IMAGE = `ghcr.io/controlplaneio-fluxcd/flux-operator:v0.58.1@${DIGEST}`;

const hardenedContainer = {
  name: "manager",
  image: IMAGE,
  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
  resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "1", memory: "1Gi" } },
  livenessProbe: { httpGet: { path: "/healthz", port: 8081 } },
  readinessProbe: { httpGet: { path: "/readyz", port: 8081 } },
};

const namespace = res("kubernetes:core/v1:Namespace", "flux-system", {
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name: "flux-system", labels: { "pod-security.kubernetes.io/enforce": "restricted" } },
});

function deployment(container: object = hardenedContainer, pod: object = {}) {
  return res(
    "kubernetes:apps/v1:Deployment",
    "flux-operator",
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "flux-operator", namespace: "flux-system" },
      spec: {
        selector: { matchLabels: { app: "flux-operator" } },
        template: {
          metadata: { labels: { app: "flux-operator" } },
          spec: { securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } }, containers: [container], ...pod },
        },
      },
    },
    { deps: { metadata: [namespace] } },
  );
}

const context = (patch: object) => ({ ...hardenedContainer, securityContext: { ...hardenedContainer.securityContext, ...patch } });

describe("k8s-pod-security", () => {
  it("passes a hardened workload", async () => {
    expect(await messages(k8sPodSecurity, [deployment()])).toEqual([]);
  });

  it("fails root", async () => {
    const pod = { securityContext: { seccompProfile: { type: "RuntimeDefault" } } };
    expect(await messages(k8sPodSecurity, [deployment(hardenedContainer, pod)])).toEqual(['container "manager" must run as non-root (runAsNonRoot: true)']);
  });

  it("fails privilege escalation", async () => {
    expect(await messages(k8sPodSecurity, [deployment(context({ allowPrivilegeEscalation: true }))])).toEqual(['container "manager" must set allowPrivilegeEscalation: false']);
  });

  it("fails capabilities not dropped, and added ones", async () => {
    expect(await messages(k8sPodSecurity, [deployment(context({ capabilities: { add: ["SYS_ADMIN"] } }))])).toEqual([
      'container "manager" must drop ALL capabilities',
      'container "manager" must not add capabilities (SYS_ADMIN)',
    ]);
  });

  it("fails a missing seccomp profile", async () => {
    expect(await messages(k8sPodSecurity, [deployment(hardenedContainer, { securityContext: { runAsNonRoot: true } })])).toEqual([
      'container "manager" must use the RuntimeDefault seccomp profile',
    ]);
  });

  it("fails a writable root filesystem", async () => {
    expect(await messages(k8sPodSecurity, [deployment(context({ readOnlyRootFilesystem: false }))])).toEqual(['container "manager" must set readOnlyRootFilesystem: true']);
  });

  it("fails privileged containers and host namespaces, also in init containers of a StatefulSet", async () => {
    const base = deployment(hardenedContainer, { hostNetwork: true, initContainers: [context({ privileged: true })] });
    const statefulSet = { ...base, type: "kubernetes:apps/v1:StatefulSet" };
    expect(await messages(k8sPodSecurity, [statefulSet])).toEqual(['init container "manager" must not be privileged', "pod must not set hostNetwork: true"]);
  });

  it("checks bare Pods and CronJobs as well as workloads", async () => {
    const podSpec = { securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } }, containers: [context({ privileged: true })] };
    const pod = res("kubernetes:core/v1:Pod", "debug", { apiVersion: "v1", kind: "Pod", metadata: { name: "debug" }, spec: podSpec });
    const cronJob = res("kubernetes:batch/v1:CronJob", "cleanup", {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "cleanup" },
      spec: { schedule: "0 * * * *", jobTemplate: { spec: { template: { spec: { ...podSpec, restartPolicy: "Never" } } } } },
    });
    expect(await messages(k8sPodSecurity, [pod, cronJob])).toEqual(['container "manager" must not be privileged', 'container "manager" must not be privileged']);
    expect(await messages(k8sImageDigest, [withInputs(pod, { spec: { ...podSpec, containers: [{ ...hardenedContainer, image: "busybox:latest" }] } })])).toEqual([
      'container "manager" image "busybox:latest" is not pinned by digest (@sha256:<64 hex digits>)',
      'container "manager" image "busybox:latest" uses the latest tag; name a release tag and pin its digest (@sha256:...)',
    ]);
  });

  it("notes a security context unknown during preview", async () => {
    const found = await violations(k8sPodSecurity, [deployment(context({ allowPrivilegeEscalation: UNKNOWN }))]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([
      ["advisory", unknownNote("k8s-pod-security", "spec.template.spec.containers.0.securityContext.allowPrivilegeEscalation")],
    ]);
  });
});

describe("k8s-resources-probes", () => {
  it("passes requests, limits and probes", async () => {
    expect(await messages(k8sResourcesProbes, [deployment()])).toEqual([]);
  });

  it("fails missing limits", async () => {
    expect(await messages(k8sResourcesProbes, [deployment({ ...hardenedContainer, resources: { requests: { cpu: "100m", memory: "64Mi" } } })])).toEqual([
      'container "manager" must set resources limits.cpu, limits.memory',
    ]);
  });

  it("fails missing probes", async () => {
    expect(await messages(k8sResourcesProbes, [deployment({ ...hardenedContainer, livenessProbe: undefined, readinessProbe: undefined })])).toEqual([
      'container "manager" must have a livenessProbe',
      'container "manager" must have a readinessProbe',
    ]);
  });
});

describe("k8s-image-digest", () => {
  it("passes an image pinned by digest", async () => {
    expect(await messages(k8sImageDigest, [deployment()])).toEqual([]);
  });

  it("fails a tag without digest", async () => {
    expect(await messages(k8sImageDigest, [deployment({ ...hardenedContainer, image: "ghcr.io/fluxcd/source-controller:v1.7.0" })])).toEqual([
      'container "manager" image "ghcr.io/fluxcd/source-controller:v1.7.0" is not pinned by digest (@sha256:<64 hex digits>)',
    ]);
  });

  it("fails latest, named or implied", async () => {
    expect(await messages(k8sImageDigest, [deployment({ ...hardenedContainer, image: `nginx:latest@${DIGEST}` })])).toEqual([
      `container "manager" image "nginx:latest@${DIGEST}" uses the latest tag; name a release tag and pin its digest (@sha256:...)`,
    ]);
    expect(await messages(k8sImageDigest, [deployment({ ...hardenedContainer, image: "registry.local:5000/nginx" })])).toEqual([
      'container "manager" image "registry.local:5000/nginx" has no tag or digest, which means latest; pin it by digest (@sha256:...)',
    ]);
  });
});

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

  it("fails a secret a GitRepository uses that lacks known_hosts", async () => {
    expect(await messages(fluxGitSecret, [withStringData({ identity: UNKNOWN, "identity.pub": UNKNOWN }), gitRepository])).toEqual([
      'git secret "flux-system" is missing known_hosts; Flux needs identity, identity.pub and known_hosts',
    ]);
  });

  it("fails a host key that is not pinned (scanned, hashed or another key)", async () => {
    const scanned = "|1|abc=|def= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
    expect(await messages(fluxGitSecret, [withStringData({ identity: UNKNOWN, "identity.pub": UNKNOWN, known_hosts: `${GITHUB_KNOWN_HOSTS[0]}\n${scanned}` })])).toEqual([
      'known_hosts of git secret "flux-system", line 2 (|1|abc=|def= ssh-ed25519), is not a pinned host key; pin the published host keys instead of scanning them on first use',
    ]);
  });

  it("checks the pull secret of a FluxInstance's sync", async () => {
    const instance = res("kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "flux", {
      metadata: { name: "flux", namespace: "flux-system" },
      spec: { sync: { kind: "GitRepository", url: "ssh://git@github.com/acme-corp/gitops-platform.git", ref: "refs/heads/prod", path: "clusters/prod", pullSecret: "flux-system" } },
    });
    expect(await messages(fluxGitSecret, [withInputs(gitSecret, { stringData: { token: "x" } }), instance])).toEqual([
      'git secret "flux-system" is missing identity, identity.pub, known_hosts; Flux needs identity, identity.pub and known_hosts',
    ]);
  });

  it("reads base64 data as well", async () => {
    const data = { identity: "eA==", "identity.pub": "eA==", known_hosts: Buffer.from("github.com ssh-ed25519 AAAAother").toString("base64") };
    expect(await messages(fluxGitSecret, [withInputs(gitSecret, { stringData: undefined, data })])).toEqual([
      'known_hosts of git secret "flux-system", line 1 (github.com ssh-ed25519), is not a pinned host key; pin the published host keys instead of scanning them on first use',
    ]);
  });

  it("fails an empty known_hosts", async () => {
    expect(await messages(fluxGitSecret, [withStringData({ identity: UNKNOWN, "identity.pub": UNKNOWN, known_hosts: "" })])).toEqual([
      'known_hosts of git secret "flux-system" is empty; pin the published host keys',
    ]);
  });

  it("notes known_hosts unknown during preview", async () => {
    const found = await violations(fluxGitSecret, [withStringData({ identity: UNKNOWN, "identity.pub": UNKNOWN, known_hosts: UNKNOWN })]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([["advisory", unknownNote("flux-git-secret", "stringData.known_hosts")]]);
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

  it("fails a floating chart version and a latest-release manifest URL", async () => {
    const chart = res("kubernetes:helm.sh/v3:Release", "operator", { chart: "oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator", version: "0.x" });
    const manifest = res("kubernetes:yaml/v2:ConfigFile", "crds", { file: "https://github.com/controlplaneio-fluxcd/flux-operator/releases/latest/download/install.yaml" });
    expect(await messages(fluxPinnedVersions, [chart, manifest])).toEqual([
      'chart "oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator" version "0.x" is not exact; pin an exact version',
      'manifest "https://github.com/controlplaneio-fluxcd/flux-operator/releases/latest/download/install.yaml" follows the latest release; pin a release tag',
    ]);
  });
});
