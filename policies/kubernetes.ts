/**
 * Kubernetes: hardened workloads and a locked-down reconciler (Flux) — its namespace, network,
 * Git credentials and versions.
 *
 * The reconciler's namespaces are the configured ones (flux-system by default) plus every namespace
 * that holds a FluxInstance, a Flux controller or operator workload, or a Flux Helm chart. What is
 * Flux is decided by reference, never by a name that merely contains "flux": a chart by its exact
 * repository and name, a workload by its image repository, a Git secret by the Flux source whose
 * secretRef names it.
 */
import type { PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import {
  containers,
  dependsVia,
  gitSources,
  isFluxInstance,
  list,
  num,
  objectMeta,
  ofTypes,
  podSpec,
  q,
  record,
  reportNote,
  str,
  strings,
  UNKNOWN,
  Unknowns,
  WORKLOAD_TYPES,
  type Container,
  type Props,
} from "./support";
import { hasChildren, podTemplatesOf, type PodTemplate } from "./pod-templates";
import { EXACT_VERSION, GITHUB_KNOWN_HOSTS, imageParts, pinnedByDigest } from "./vocabulary";

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

/** Image repositories of the reconciler's workloads: Flux's controllers and the Flux Operator. */
const FLUX_IMAGE = /^(?:(?:ghcr\.io|docker\.io|quay\.io)\/)?fluxcd\/[a-z-]+-controller$|^ghcr\.io\/controlplaneio-fluxcd\/flux-operator$/;

/** The repository of an image reference (no tag, no digest). */
function imageRepository(image: string): string {
  const name = image.split("@")[0] ?? "";
  const slash = name.lastIndexOf("/");
  const colon = name.indexOf(":", slash + 1);
  return colon < 0 ? name : name.slice(0, colon);
}

/** Runs `check` on the pod spec of each resource of `types` (long-running workloads by default). */
function validateWorkload(check: (pod: Props, args: ResourceValidationArgs, reportViolation: ReportViolation) => void, types: readonly string[] = WORKLOAD_TYPES) {
  return (args: ResourceValidationArgs, reportViolation: ReportViolation): void => {
    if (!types.includes(args.type)) return;
    check(podSpec(args.props), args, reportViolation);
  };
}

/**
 * A stack validation running `check` on every pod or pod template of the stack (see
 * ./pod-templates): each finding is reported on its resource; a resource whose pod is unknown
 * during preview is named in the rule's note, and the others are still judged.
 */
function validatePods(check: (template: PodTemplate, report: (message: string) => void) => void): StackValidationPolicy["validateStack"] {
  return (args, reportViolation) => {
    const unknowns = new Unknowns();
    for (const resource of args.resources) {
      if (!resource.type.startsWith("kubernetes:")) continue;
      const found: string[] = [];
      const notes: string[] = [];
      unknowns.read(() => {
        for (const template of podTemplatesOf(resource.type, resource.props, hasChildren(args.resources, resource))) {
          if (template.unreadable !== undefined) found.push(`${template.object} ${template.unreadable}`);
          else if (template.unseen !== undefined) notes.push(`${template.object} ${template.unseen}`);
          else check(template, (message) => found.push(template.object === "" ? message : `${template.object}: ${message}`));
        }
      }, resource);
      for (const message of found) reportViolation(message, resource.urn);
      for (const message of notes) reportNote(reportViolation, message, resource.urn);
    }
    unknowns.rethrow();
  };
}

/** Volume types the restricted standard allows (pod-security-admission policy/check_restrictedVolumes.go, v0.34.9). */
const RESTRICTED_VOLUME_TYPES = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim", "projected", "secret"];
/** The safe sysctls (policy/check_sysctls.go, v0.34.9: the 1.32 set). */
const SAFE_SYSCTLS = [
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
  "net.ipv4.tcp_rmem",
  "net.ipv4.tcp_wmem",
];
/** SELinux types a container may run as (policy/check_seLinuxOptions.go, v0.34.9: the 1.31 set). */
const SELINUX_TYPES = ["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];
const APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/";

function containerLabel(container: { name: string; init: boolean; ephemeral?: boolean }): string {
  return `${container.ephemeral ? "ephemeral container" : container.init ? "init container" : "container"} ${q(container.name)}`;
}

/** Containers, init containers and ephemeral containers of a pod spec (the standard checks all three). */
function allContainers(pod: Props): (Container & { ephemeral?: boolean })[] {
  const ephemeral = list(pod.ephemeralContainers).map((raw, index) => {
    const spec = record(raw) ?? {};
    return { name: str(spec.name) ?? `ephemeralContainers[${index}]`, init: false, ephemeral: true, spec };
  });
  return [...containers(pod), ...ephemeral];
}

/**
 * Pod security: the Kubernetes Pod Security Standard "restricted" in full — every check of
 * k8s.io/pod-security-admission v0.34.9 (`policy/check_*.go`), baseline and restricted, on every
 * container kind — plus a read-only root filesystem. On a `*Patch` resource only the values the
 * patch sets are judged: a field it omits keeps the live object's value.
 */
export const k8sPodSecurity: StackValidationPolicy = {
  name: "k8s-pod-security",
  description:
    "Every pod and pod template (Pods, workloads, Jobs, CronJobs, ReplicationControllers, PodTemplates, their patches, CustomResource and inline ConfigGroup objects) meets the restricted Pod Security Standard: no host namespaces, ports, paths or probe hosts, only restricted volume types, not privileged, no added capabilities but NET_BIND_SERVICE after dropping ALL, no privilege escalation, non-root, RuntimeDefault or Localhost seccomp and AppArmor, default procMount, allowed SELinux options, safe sysctls only; and a read-only root filesystem.",
  enforcementLevel: "mandatory",
  validateStack: validatePods(({ spec: pod, metadata, patch }, report) => {
    // A patch leaves what it omits as it is; only what it sets can be judged.
    const required = !patch;
    const windows = str(record(pod.os)?.name) === "windows";
    for (const host of ["hostNetwork", "hostPID", "hostIPC"]) {
      if (pod[host] === true) report(`pod must not set ${host}: true`);
    }
    const podContext = record(pod.securityContext) ?? {};
    if (record(podContext.windowsOptions)?.hostProcess === true) report("pod must not set securityContext.windowsOptions.hostProcess: true");
    if (podContext.runAsNonRoot === false) report("pod must not set securityContext.runAsNonRoot: false");
    if (podContext.runAsUser === 0) report("pod must not set securityContext.runAsUser: 0");
    const podSeccomp = str(record(podContext.seccompProfile)?.type);
    if (podSeccomp !== undefined && podSeccomp !== "RuntimeDefault" && podSeccomp !== "Localhost") {
      report(`pod must not set securityContext.seccompProfile.type: ${q(podSeccomp)}`);
    }
    const podAppArmor = record(podContext.appArmorProfile);
    if (podAppArmor && !["RuntimeDefault", "Localhost"].includes(str(podAppArmor.type) ?? "")) {
      report(`pod must not set securityContext.appArmorProfile.type: ${q(podAppArmor.type ?? null)}; use RuntimeDefault or Localhost`);
    }
    reportSeLinux("pod", record(podContext.seLinuxOptions), report);
    for (const sysctl of list(podContext.sysctls)) {
      const name = str(record(sysctl)?.name) ?? "";
      if (!SAFE_SYSCTLS.includes(name)) report(`pod must not set the unsafe sysctl ${q(name)}; only ${SAFE_SYSCTLS.join(", ")} are allowed`);
    }
    for (const [key, value] of Object.entries(record(metadata.annotations) ?? {})) {
      const profile = str(value) ?? "";
      if (key.startsWith(APPARMOR_ANNOTATION_PREFIX) && profile !== "" && profile !== "runtime/default" && !profile.startsWith("localhost/")) {
        report(`pod annotation ${key} must be runtime/default or localhost/<profile>, got ${q(profile)}`);
      }
    }
    for (const raw of list(pod.volumes)) {
      const volume = record(raw) ?? {};
      const types = Object.keys(volume).filter((key) => key !== "name" && volume[key] !== undefined && volume[key] !== null);
      if (types.some((type) => RESTRICTED_VOLUME_TYPES.includes(type))) continue;
      report(
        `volume ${q(str(volume.name) ?? "")} uses ${types.length === 0 ? "an unknown volume type" : types.join(", ")}; only ${RESTRICTED_VOLUME_TYPES.join(", ")} volumes are allowed`,
      );
    }

    for (const container of allContainers(pod)) {
      const context = record(container.spec.securityContext) ?? {};
      const label = containerLabel(container);
      if (record(context.windowsOptions)?.hostProcess === true) report(`${label} must not set securityContext.windowsOptions.hostProcess: true`);
      if (context.privileged === true) report(`${label} must not be privileged`);
      const hostPorts = list(container.spec.ports).map((port) => num(record(port)?.hostPort) ?? 0).filter((hostPort) => hostPort !== 0);
      if (hostPorts.length > 0) report(`${label} must not use host port${hostPorts.length === 1 ? "" : "s"} ${hostPorts.join(", ")}`);
      for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) reportProbeHost(`${label} ${probe}`, record(container.spec[probe]), report);
      for (const hook of ["postStart", "preStop"]) reportProbeHost(`${label} lifecycle.${hook}`, record(record(container.spec.lifecycle)?.[hook]), report);
      const procMount = str(context.procMount);
      if (procMount !== undefined && procMount !== "Default") report(`${label} must not set securityContext.procMount: ${q(procMount)}`);
      const appArmor = record(context.appArmorProfile);
      if (appArmor && !["RuntimeDefault", "Localhost"].includes(str(appArmor.type) ?? "")) {
        report(`${label} must not set securityContext.appArmorProfile.type: ${q(appArmor.type ?? null)}; use RuntimeDefault or Localhost`);
      }
      reportSeLinux(label, record(context.seLinuxOptions), report);
      if (context.runAsNonRoot === false || (required && context.runAsNonRoot === undefined && podContext.runAsNonRoot !== true)) {
        report(`${label} must run as non-root (runAsNonRoot: true)`);
      }
      if (context.runAsUser === 0) report(`${label} must not run as UID 0`);
      // The API refuses these fields on Windows pods ("cannot be set when spec.os.name is windows"), and the
      // standard exempts Windows pods from the last three (policy/check_*: the 1.25 versions).
      if (windows) continue;
      if (context.readOnlyRootFilesystem === false || (required && context.readOnlyRootFilesystem !== true)) report(`${label} must set readOnlyRootFilesystem: true`);
      if (context.allowPrivilegeEscalation === true || (required && context.allowPrivilegeEscalation !== false)) report(`${label} must set allowPrivilegeEscalation: false`);
      const capabilities = record(context.capabilities);
      if (required && !strings(capabilities?.drop).includes("ALL")) report(`${label} must drop ALL capabilities`);
      const added = strings(capabilities?.add).filter((capability) => capability !== "NET_BIND_SERVICE");
      if (added.length > 0) report(`${label} must not add capabilities (${added.join(", ")})`);
      const seccomp = str(record(context.seccompProfile)?.type);
      const effective = seccomp ?? podSeccomp;
      if (seccomp !== undefined ? seccomp !== "RuntimeDefault" && seccomp !== "Localhost" : required && effective !== "RuntimeDefault" && effective !== "Localhost") {
        report(`${label} must use the RuntimeDefault seccomp profile`);
      }
    }
  }),
};

function reportSeLinux(who: string, options: Props | undefined, report: (message: string) => void): void {
  if (!options) return;
  const type = str(options.type) ?? "";
  if (!SELINUX_TYPES.includes(type)) report(`${who} must not set securityContext.seLinuxOptions.type: ${q(type)}; allowed: ${SELINUX_TYPES.filter((t) => t !== "").join(", ")}`);
  for (const field of ["user", "role"]) {
    if ((str(options[field]) ?? "") !== "") report(`${who} must not set securityContext.seLinuxOptions.${field}`);
  }
}

function reportProbeHost(where: string, handler: Props | undefined, report: (message: string) => void): void {
  if (!handler) return;
  for (const kind of ["httpGet", "tcpSocket"]) {
    const host = str(record(handler[kind])?.host) ?? "";
    if (host !== "") report(`${where} must not set ${kind}.host (${q(host)}); probes and hooks reach the pod's own address`);
  }
}

const RESOURCE_FIELDS = ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory"] as const;

/** Resources: requests, limits and health probes on every container. */
export const k8sResourcesProbes: ResourceValidationPolicy = {
  name: "k8s-resources-probes",
  description: "Every workload container sets CPU and memory requests and limits and has liveness and readiness probes.",
  enforcementLevel: "mandatory",
  validateResource: validateWorkload((pod, _args, reportViolation) => {
    for (const container of containers(pod)) {
      const label = `${container.init ? "init container" : "container"} ${q(container.name)}`;
      const resources = record(container.spec.resources) ?? {};
      const missing = RESOURCE_FIELDS.filter((field) => {
        const [kind = "", name = ""] = field.split(".");
        return record(resources[kind])?.[name] === undefined;
      });
      if (missing.length > 0) reportViolation(`${label} must set resources ${missing.join(", ")}`);
      if (container.init) continue; // probes do not apply to init containers
      if (container.spec.livenessProbe === undefined) reportViolation(`${label} must have a livenessProbe`);
      if (container.spec.readinessProbe === undefined) reportViolation(`${label} must have a readinessProbe`);
    }
  }),
};

/** Images: pinned by digest, never `:latest`. */
export const k8sImageDigest: StackValidationPolicy = {
  name: "k8s-image-digest",
  description: "Every image of a pod or pod template (the kinds k8s-pod-security checks) is pinned by an @sha256 digest and never uses the latest tag.",
  enforcementLevel: "mandatory",
  validateStack: validatePods(({ spec: pod }, report) => {
    for (const container of allContainers(pod)) {
      const label = containerLabel(container);
      // A patch that leaves a container's image out keeps the live one.
      if (container.spec.image === undefined) continue;
      const image = str(container.spec.image) ?? "";
      const { tag, digest } = imageParts(image);
      const pinned = pinnedByDigest(image);
      if (tag === "latest") report(`${label} image ${q(image)} uses the latest tag; name a release tag and pin its digest (@sha256:...)`);
      else if (!pinned && tag === undefined) report(`${label} image ${q(image)} has no tag or digest, which means latest; pin it by digest (@sha256:...)`);
      if (!pinned && (tag !== undefined || digest !== undefined)) report(`${label} image ${q(image)} is not pinned by digest (@sha256:<64 hex digits>)`);
    }
  }),
};

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
    return containers(pod).some((container) => FLUX_IMAGE.test(imageRepository(Unknowns.peek(() => str(container.spec.image)) ?? "")));
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
  namespaces: { type: "array" as const, items: { type: "string" as const }, default: ["flux-system"], description: "Namespaces of the reconciler." },
};

/** Namespace: the reconciler namespace enforces the restricted Pod Security Standard. */
export const k8sReconcilerNamespaceRestricted: StackValidationPolicy = {
  name: "k8s-reconciler-namespace-restricted",
  description: "The reconciler's namespace is labelled pod-security.kubernetes.io/enforce: restricted.",
  enforcementLevel: "mandatory",
  configSchema: { properties: namespacesSchema },
  validateStack: (args, reportViolation) => {
    const { namespaces = ["flux-system"] } = args.getConfig<{ namespaces?: string[] }>();
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
    const { namespaces = ["flux-system"] } = args.getConfig<{ namespaces?: string[] }>();
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
        // The reconciler's own release manifests, by repository: Flux's and the Flux Operator's.
        if (/^https:\/\/github\.com\/(?:fluxcd\/flux2|controlplaneio-fluxcd\/flux-operator)\/releases\/(?:latest\/download|download\/latest)\//.test(url)) {
          reportViolation(`manifest ${q(url)} follows the latest release; pin a release tag`);
        }
      }
    }
  },
};

/** The Kubernetes rules, in table order. */
export const kubernetesPolicies = [
  k8sPodSecurity,
  k8sResourcesProbes,
  k8sImageDigest,
  k8sReconcilerNamespaceRestricted,
  k8sReconcilerNetworkPolicies,
  fluxGitSecret,
  fluxPinnedVersions,
];
