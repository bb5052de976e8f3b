/**
 * Kubernetes: a locked-down reconciler (Flux) — its namespace, network, Git credentials and versions.
 *
 * The reconciler's namespaces are the configured ones (flux-system by default) plus every namespace
 * that holds a FluxInstance, a Flux controller or operator workload, or a Flux Helm chart. What is
 * Flux is decided by reference, never by a name that merely contains "flux": a chart by its exact
 * repository and name, a workload by its image repository, a Git secret by the Flux source whose
 * secretRef names it.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { dependsVia, escapeRegex, list, ofTypes, q, record, str, strings, UNKNOWN, Unknowns, type Props } from "./support";
import { containers, gitSources, isFluxInstance, objectMeta, podSpec, WORKLOAD_TYPES } from "./k8s-objects";
import { EXACT_VERSION, FLUX_NAMESPACE, FLUX_OPERATOR_IMAGE_REPOSITORY, GITHUB_KNOWN_HOSTS, GITHUB_SSH_HOST, imageParts } from "./vocabulary";

const NAMESPACE = "kubernetes:core/v1:Namespace";
const NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const SECRET = "kubernetes:core/v1:Secret";
const HELM_TYPES = ["kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"];
const MANIFEST_TYPES = ["kubernetes:yaml/v2:ConfigFile", "kubernetes:yaml/v2:ConfigGroup"];

/**
 * Helm charts that install the reconciler, by repository and chart name: the Flux Operator's
 * (controlplaneio-fluxcd/charts) and the Flux community chart (fluxcd-community/helm-charts).
 */
const FLUX_CHARTS: readonly { readonly repository: string; readonly name: string }[] = [
  { repository: "oci://ghcr.io/controlplaneio-fluxcd/charts", name: "flux-operator" },
  { repository: "oci://ghcr.io/controlplaneio-fluxcd/charts", name: "flux-instance" },
  { repository: "https://fluxcd-community.github.io/helm-charts", name: "flux2" },
];

/** The chart a Helm resource installs, as repository and name, where known. */
function chartOf(props: Props): { repository?: string; name: string } | undefined {
  const chart = Unknowns.peek(() => str(props.chart));
  if (chart === undefined) return undefined;
  // A full reference (oci://host/path/name, https://.../name.tgz) names its repository itself.
  const full = /^((?:oci|https?):\/\/.+)\/([^/]+?)(?:-\d+\.\d+\.\d+[^/]*\.tgz)?$/.exec(chart);
  if (full) return { repository: full[1] ?? "", name: full[2] ?? "" };
  const repository = Unknowns.peek(() => str(record(props.repositoryOpts)?.repo));
  return { ...(repository !== undefined ? { repository: repository.replace(/\/+$/, "") } : {}), name: chart };
}

/** True for a Helm chart of the reconciler: exactly one of {@link FLUX_CHARTS}. */
export function isFluxChart(props: Props): boolean {
  const chart = chartOf(props);
  return chart !== undefined && FLUX_CHARTS.some((known) => known.name === chart.name && known.repository === chart.repository);
}

/** Image repositories of Flux's controllers. */
const FLUX_CONTROLLER_IMAGE = /^(?:(?:ghcr\.io|docker\.io|quay\.io)\/)?fluxcd\/[a-z-]+-controller$/;

/** The reconciler's own release manifests that follow the latest release, by repository: Flux's and the Flux Operator's. */
const LATEST_RELEASE_MANIFEST = new RegExp(
  String.raw`^https:\/\/${escapeRegex(GITHUB_SSH_HOST)}\/(?:fluxcd\/flux2|controlplaneio-fluxcd\/flux-operator)\/releases\/(?:latest\/download|download\/latest)\/`,
);

/** True for an image of the reconciler's workloads: one of Flux's controllers or the Flux Operator (by repository, whatever the tag or digest). */
function isFluxImage(image: string): boolean {
  const { name } = imageParts(image);
  return FLUX_CONTROLLER_IMAGE.test(name) || name === FLUX_OPERATOR_IMAGE_REPOSITORY;
}

// ---------------------------------------------------------------------------------------------
// The reconciler's namespaces
// ---------------------------------------------------------------------------------------------

/** A reconciler namespace found in the stack: its name (where known), its Namespace resource, whether the reconciler runs in it. */
interface ReconcilerNamespace {
  readonly name?: string;
  readonly resource?: PolicyResource;
  /** A FluxInstance, Flux workload or Flux chart is declared in it. */
  readonly occupied: boolean;
}

function isReconcilerObject(resource: PolicyResource): boolean {
  if (isFluxInstance(resource.type)) return true;
  if ((WORKLOAD_TYPES as readonly string[]).includes(resource.type)) {
    const pod = Unknowns.peek(() => podSpec(resource.props)) ?? {};
    return containers(pod).some((container) => isFluxImage(Unknowns.peek(() => str(container.spec.image)) ?? ""));
  }
  if (HELM_TYPES.includes(resource.type)) return isFluxChart(resource.props);
  return false;
}

/** Namespaces that hold the reconciler, from config names, reconciler objects and their dependencies. */
function reconcilerNamespaces(resources: readonly PolicyResource[], configured: readonly string[]): ReconcilerNamespace[] {
  const objects = resources.filter(isReconcilerObject);
  const occupied = new Set<string>();
  for (const object of objects) {
    const namespace = objectMeta(object).namespace ?? (HELM_TYPES.includes(object.type) ? Unknowns.peek(() => str(object.props.namespace)) : undefined);
    if (namespace !== undefined) occupied.add(namespace);
  }
  const names = new Set([...configured, ...occupied]);
  const found: ReconcilerNamespace[] = [];
  const declared = new Set<string>();
  for (const namespace of ofTypes(resources, [NAMESPACE])) {
    const name = objectMeta(namespace).name;
    const referenced = objects.some((object) => dependsVia(object, "metadata", namespace) || dependsVia(object, "namespace", namespace));
    if ((name !== undefined && names.has(name)) || referenced) {
      found.push({ ...(name !== undefined ? { name } : {}), resource: namespace, occupied: referenced || (name !== undefined && occupied.has(name)) });
      if (name !== undefined) declared.add(name);
    }
  }
  for (const name of occupied) if (!declared.has(name)) found.push({ name, occupied: true });
  return found;
}

const namespacesSchema = {
  namespaces: { type: "array" as const, items: { type: "string" as const }, default: [FLUX_NAMESPACE], description: "Namespaces of the reconciler." },
};

/** Namespace: the reconciler namespace enforces the restricted Pod Security Standard. */
export const k8sReconcilerNamespaceRestricted: StackValidationPolicy = {
  name: "k8s-reconciler-namespace-restricted",
  description: "The reconciler's namespace is labelled pod-security.kubernetes.io/enforce: restricted.",
  enforcementLevel: "mandatory",
  configSchema: { properties: namespacesSchema },
  validateStack: (args, reportViolation) => {
    const { namespaces = [FLUX_NAMESPACE] } = args.getConfig<{ namespaces?: string[] }>();
    const unknowns = new Unknowns();
    for (const namespace of reconcilerNamespaces(args.resources, namespaces)) {
      const resource = namespace.resource;
      if (!resource) continue;
      const level = unknowns.read(() => str(record(record(resource.props.metadata)?.labels)?.["pod-security.kubernetes.io/enforce"]), resource);
      if (level === UNKNOWN || level === "restricted") continue;
      reportViolation(
        `reconciler namespace ${q(namespace.name ?? resource.name)} must be labelled pod-security.kubernetes.io/enforce: restricted${level === undefined ? "" : `, got ${q(level)}`}`,
        resource.urn,
      );
    }
    unknowns.rethrow();
  },
};

function selectsAllPods(policy: Props): boolean {
  const selector = record(policy.podSelector) ?? {};
  return list(selector.matchExpressions).length === 0 && Object.keys(record(selector.matchLabels) ?? {}).length === 0;
}

function coversIngress(policy: Props): boolean {
  const types = strings(policy.policyTypes);
  return types.length === 0 || types.includes("Ingress");
}

function allowsAnySource(rule: Props): boolean {
  const from = list(rule.from);
  return from.length === 0 || from.some((peer) => /\/0$/.test(str(record(record(peer)?.ipBlock)?.cidr) ?? ""));
}

/** Network: default-deny ingress in the reconciler namespace, opened only where needed. */
export const k8sReconcilerNetworkPolicies: StackValidationPolicy = {
  name: "k8s-reconciler-network-policies",
  description: "The namespace the reconciler runs in has NetworkPolicies that select all its pods for ingress and never allow every source on every port.",
  enforcementLevel: "mandatory",
  configSchema: { properties: namespacesSchema },
  validateStack: (args, reportViolation) => {
    const { namespaces = [FLUX_NAMESPACE] } = args.getConfig<{ namespaces?: string[] }>();
    const unknowns = new Unknowns();
    const policies = ofTypes(args.resources, [NETWORK_POLICY]);
    // Network policies guard pods: they are due once the reconciler is declared in the namespace.
    for (const namespace of reconcilerNamespaces(args.resources, namespaces).filter((ns) => ns.occupied)) {
      const label = `reconciler namespace ${q(namespace.name ?? namespace.resource?.name)}`;
      const where = namespace.resource?.urn;
      const inNamespace = policies.filter(
        (policy) =>
          (namespace.resource !== undefined && dependsVia(policy, "metadata", namespace.resource)) ||
          (namespace.name !== undefined && objectMeta(policy).namespace === namespace.name),
      );
      if (inNamespace.length === 0) {
        reportViolation(`${label} has no NetworkPolicy; deny ingress by default and allow only the webhook receiver and metrics`, where);
        continue;
      }
      const specs = inNamespace.map((policy) => ({ policy, spec: unknowns.read(() => record(policy.props.spec) ?? {}, policy) }));
      if (specs.some(({ spec }) => spec === UNKNOWN)) continue;
      const known = specs as { policy: PolicyResource; spec: Props }[];
      if (!known.some(({ spec }) => selectsAllPods(spec) && coversIngress(spec))) {
        reportViolation(`${label} has no NetworkPolicy selecting all its pods for ingress; add one so that only the webhook receiver and metrics are reachable`, where);
      }
      for (const { policy, spec } of known) {
        list(spec.ingress).forEach((raw, index) => {
          const rule = record(raw) ?? {};
          if (allowsAnySource(rule) && list(rule.ports).length === 0) {
            reportViolation(`NetworkPolicy ${q(objectMeta(policy).name ?? policy.name)} ingress[${index}] allows every source on every port; name the sources or ports it needs`, policy.urn);
          }
        });
      }
    }
    unknowns.rethrow();
  },
};

// ---------------------------------------------------------------------------------------------
// Flux Git credentials and versions
// ---------------------------------------------------------------------------------------------

/**
 * What Flux's SSH authentication needs: the private key and the host keys; `identity.pub` is
 * optional (fluxcd/source-controller v1.9.0, docs/spec/v1/gitrepositories.md, "SSH authentication").
 */
const GIT_SECRET_KEYS = ["identity", "known_hosts"];

function isSshUrl(url: string): boolean {
  return /^ssh:\/\//.test(url) || /^[\w.-]+@[\w.-]+:/.test(url);
}

/**
 * Kubernetes Secrets used as Flux SSH Git credentials: those a Flux Git source over SSH refers to
 * (its secretRef's name and namespace, or a value computed from the Secret). A Secret that merely
 * has an `identity` or `known_hosts` key is not one.
 */
function gitSecrets(resources: readonly PolicyResource[]): PolicyResource[] {
  const secrets = ofTypes(resources, [SECRET]);
  const found = new Set<PolicyResource>();
  for (const source of gitSources(resources)) {
    if (source.url === undefined || !isSshUrl(source.url)) continue;
    for (const secret of secrets) {
      const meta = objectMeta(secret);
      const named =
        source.secretName !== undefined &&
        meta.name === source.secretName &&
        (source.namespace === undefined || meta.namespace === undefined || meta.namespace === source.namespace);
      if (named || dependsVia(source.resource, "spec", secret)) found.add(secret);
    }
  }
  return secrets.filter((secret) => found.has(secret));
}

/** Git secret: identity and known_hosts, with known_hosts pinned. */
export const fluxGitSecret: StackValidationPolicy = {
  name: "flux-git-secret",
  description: "The Secrets Flux SSH Git sources refer to hold identity and known_hosts (identity.pub is optional, as Flux documents), and known_hosts lists only pinned, published host keys (never keys scanned on first use).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      knownHosts: { type: "array", items: { type: "string" }, default: GITHUB_KNOWN_HOSTS, description: "Pinned known_hosts lines (host keytype key)." },
    },
  },
  validateStack: (args, reportViolation) => {
    const { knownHosts = GITHUB_KNOWN_HOSTS } = args.getConfig<{ knownHosts?: string[] }>();
    const pinned = knownHosts.map((line) => line.trim().split(/\s+/));
    const unknowns = new Unknowns();
    for (const secret of gitSecrets(args.resources)) {
      const label = `git secret ${q(objectMeta(secret).name ?? secret.name)}`;
      const data = unknowns.read(() => record(secret.props.data) ?? {}, secret);
      const stringData = unknowns.read(() => record(secret.props.stringData) ?? {}, secret);
      if (data === UNKNOWN || stringData === UNKNOWN) continue;
      const keys = new Set([...Object.keys(data), ...Object.keys(stringData)]);
      const missing = GIT_SECRET_KEYS.filter((key) => !keys.has(key));
      if (missing.length > 0) reportViolation(`${label} is missing ${missing.join(" and ")}; Flux's SSH authentication needs identity and known_hosts`, secret.urn);
      if (!keys.has("known_hosts")) continue;
      const text = unknowns.read(
        () => ("known_hosts" in stringData ? str(stringData.known_hosts) : Buffer.from(str(data.known_hosts) ?? "", "base64").toString("utf8")),
        secret,
      );
      if (text === UNKNOWN) continue;
      const lines = (text ?? "")
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line !== "" && !line.startsWith("#"));
      if (lines.length === 0) reportViolation(`known_hosts of ${label} is empty; pin the published host keys`, secret.urn);
      lines.forEach((line, index) => {
        const [hosts = "", type = "", key = ""] = line.split(/\s+/);
        const ok = pinned.some(([host, pinnedType, pinnedKey]) => pinnedType === type && pinnedKey === key && hosts.split(",").includes(host ?? ""));
        if (!ok) {
          reportViolation(
            `known_hosts of ${label}, line ${index + 1} (${hosts} ${type}), is not a pinned host key; pin the published host keys instead of scanning them on first use`,
            secret.urn,
          );
        }
      });
    }
    unknowns.rethrow();
  },
};

/** Versions: the reconciler's versions are exact, never ranges or "latest". */
export const fluxPinnedVersions: ResourceValidationPolicy = {
  name: "flux-pinned-versions",
  description:
    "The reconciler is installed at exact versions: FluxInstance distribution versions, the versions of the Flux Operator and Flux community Helm charts (by repository and chart name) and Flux release manifest URLs name one release, never a range or latest.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (isFluxInstance(args.type)) {
      const version = str(record(record(args.props.spec)?.distribution)?.version);
      if (version === undefined) reportViolation("FluxInstance must pin spec.distribution.version to an exact version such as 2.7.3");
      else if (!EXACT_VERSION.test(version)) reportViolation(`FluxInstance version ${q(version)} is a range; pin an exact version such as 2.7.3`);
    } else if (HELM_TYPES.includes(args.type)) {
      if (!isFluxChart(args.props)) return;
      const chart = str(args.props.chart) ?? "";
      const version = str(args.props.version);
      if (version === undefined) reportViolation(`chart ${q(chart)} has no version; pin an exact version`);
      else if (!EXACT_VERSION.test(version)) reportViolation(`chart ${q(chart)} version ${q(version)} is not exact; pin an exact version`);
    } else if (MANIFEST_TYPES.includes(args.type)) {
      for (const url of [...strings(args.props.file), ...strings(args.props.files)]) {
        if (LATEST_RELEASE_MANIFEST.test(url)) {
          reportViolation(`manifest ${q(url)} follows the latest release; pin a release tag`);
        }
      }
    }
  },
};
