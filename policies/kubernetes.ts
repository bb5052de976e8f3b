/**
 * Kubernetes: hardened workloads — every pod and pod template meets the restricted Pod Security
 * Standard, workloads set resources and probes, images are pinned by digest — and the list of the
 * Kubernetes rules, whose reconciler (Flux) rules live in ./flux-reconciler.
 */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { list, num, q, record, reportNote, str, strings, Unknowns, type Props } from "./support";
import { containers, podSpec, WORKLOAD_TYPES, type Container } from "./k8s-objects";
import { hasChildren, podTemplatesOf, type PodTemplate } from "./pod-templates";
import { imageParts, pinnedByDigest } from "./vocabulary";
import { fluxGitSecret, fluxPinnedVersions, k8sReconcilerNamespaceRestricted, k8sReconcilerNetworkPolicies } from "./flux-reconciler";

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
