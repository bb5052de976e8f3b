/**
 * Which input changes make the engine replace a resource instead of updating it in place.
 *
 * Only authoritative sources decide: the resource options the program sets (`replaceOnChanges`),
 * and the providers' own force-new rules as their source code states them. A change no source
 * covers is "may replace": offline, nobody can tell.
 */
import type { RecordedResource } from "../engine";

/** How a changed property is applied. */
export interface ReplacementVerdict {
  /** true: forces a replacement; false: updated in place; undefined: not known offline. */
  readonly replaces: boolean | undefined;
  /** The source of the verdict (a file at a revision, or the resource option), shown next to the change. */
  readonly reason: string;
}

interface ProviderRules {
  /** Input paths (`.`-separated, `[*]` for any index) whose change forces a replacement. */
  readonly forceNew: readonly string[];
  /** Conditionally forcing a replacement (the provider decides with values only it sees). */
  readonly maybe?: readonly string[];
  /** true when the source lists every input: any other change is an in-place update. */
  readonly complete: boolean;
  readonly source: string;
}

/** Why a verdict is open: no source available offline covers the property. */
export const NOT_KNOWN = "replacement not known offline";

const GITHUB = "integrations/terraform-provider-github b6ce8c0 (v6.13.0+27)";
const TLS = "hashicorp/terraform-provider-tls d72d90e (v4.2.1+23), internal/provider/resource_private_key.go";
const RANDOM = "hashicorp/terraform-provider-random ad788e2 (v3.9.0+4), internal/provider/resource_password.go";

/** Bridged providers' force-new inputs (Terraform `ForceNew` / `RequiresReplace`), by Pulumi type. */
const BRIDGED: Readonly<Record<string, ProviderRules>> = {
  // No Update function: deploy keys are immutable in GitHub's API; every argument is ForceNew.
  "github:index/repositoryDeployKey:RepositoryDeployKey": {
    forceNew: ["key", "readOnly", "repository", "title"],
    complete: true,
    source: `${GITHUB}, github/resource_github_repository_deploy_key.go`,
  },
  "github:index/repositoryWebhook:RepositoryWebhook": {
    forceNew: ["repository"],
    complete: true,
    source: `${GITHUB}, github/resource_github_repository_webhook.go`,
  },
  // CustomizeDiff (diffRepository) may force a replacement when the repository changes.
  "github:index/actionsVariable:ActionsVariable": {
    forceNew: ["variableName"],
    maybe: ["repository"],
    complete: true,
    source: `${GITHUB}, github/resource_github_actions_variable.go`,
  },
  "tls:index/privateKey:PrivateKey": { forceNew: ["algorithm", "rsaBits", "ecdsaCurve"], complete: true, source: TLS },
  "random:index/randomPassword:RandomPassword": {
    forceNew: ["keepers", "length", "special", "upper", "lower", "number", "numeric", "minNumeric", "minUpper", "minLower", "minSpecial"],
    maybe: ["overrideSpecial"],
    complete: true,
    source: RANDOM,
  },
};

const K8S_SOURCE = "pulumi/pulumi-kubernetes 9497796 (v4.32.0+27), provider/pkg/provider/diff.go";

const labelSelector = (prefix: string) => [prefix, `${prefix}.matchExpressions`, `${prefix}.matchLabels`];
const containerFields = [
  "args", "command", "env", "image", "imagePullPolicy", "lifecycle", "livenessProbe", "ports", "readinessProbe", "resources",
  "securityContext", "stdin", "stdinOnce", "terminationMessagePath", "terminationMessagePolicy", "tty", "volumeDevices",
  "volumeMounts", "workingDir",
];

/** The Kubernetes provider's `forceNew` table, by `<group>/<version>/<kind>` (core group ""). */
const K8S_FORCE_NEW: Readonly<Record<string, readonly string[]>> = (() => {
  const table: Record<string, readonly string[]> = {};
  const workload = labelSelector("spec.selector");
  for (const version of ["v1", "v1beta2"]) {
    table[`apps/${version}/DaemonSet`] = workload;
    table[`apps/${version}/Deployment`] = workload;
  }
  const statefulSet = ["spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.serviceName", "spec.volumeClaimTemplates", ...workload];
  for (const version of ["v1", "v1beta1", "v1beta2"]) table[`apps/${version}/StatefulSet`] = statefulSet;
  table["policy/v1beta1/PodDisruptionBudget"] = ["spec"];
  for (const version of ["v1", "v1beta1", "v1alpha1"]) {
    table[`rbac.authorization.k8s.io/${version}/ClusterRoleBinding`] = ["roleRef"];
    table[`rbac.authorization.k8s.io/${version}/RoleBinding`] = ["roleRef"];
  }
  table["storage.k8s.io/v1/StorageClass"] = ["parameters", "provisioner"];
  for (const version of ["v1", "v1beta1", "v2alpha1"]) table[`batch/${version}/Job`] = ["spec.completions", "spec.parallelism", "spec.template", ...workload];
  table["/v1/PersistentVolumeClaim"] = ["spec.accessModes", "spec.storageClassName", "spec.volumeName", ...workload];
  table["/v1/Pod"] = [
    ...["affinity", "automountServiceAccountToken", "dnsConfig", "dnsPolicy", "enableServiceLinks", "hostAliases", "hostIPC", "hostNetwork",
      "hostPID", "hostname", "imagePullSecrets", "nodeName", "nodeSelector", "overhead", "preemptionPolicy", "priority", "priorityClassName",
      "readinessGates", "restartPolicy", "runtimeClassName", "schedulerName", "securityContext", "serviceAccount", "serviceAccountName",
      "shareProcessNamespace", "subdomain", "terminationGracePeriodSeconds", "volumes"].map((field) => `spec.${field}`),
    ...containerFields.flatMap((field) => [`spec.containers[*].${field}`, `spec.initContainers[*].${field}`]),
  ];
  table["/v1/ResourceQuota"] = ["spec.scopes"];
  table["/v1/Secret"] = ["type"];
  table["/v1/Service"] = ["spec.clusterIP"];
  return table;
})();

/**
 * True when `path` (e.g. `spec.containers[0].image`) is `pattern` (`[*]` for any index), lies under
 * it, or contains it (a whole object added or removed changes everything under it).
 */
export function pathMatches(path: string, pattern: string): boolean {
  const general = path.replace(/\[\d+\]/g, "[*]");
  const within = (inner: string, outer: string) => inner === outer || inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`);
  return within(general, pattern) || within(pattern, general);
}

function kubernetesRules(resource: RecordedResource, providerInputs: Record<string, unknown> | undefined): ProviderRules {
  const apiVersion = typeof resource.inputs.apiVersion === "string" ? resource.inputs.apiVersion : "";
  const kind = typeof resource.inputs.kind === "string" ? resource.inputs.kind : "";
  const [group, version] = apiVersion.includes("/") ? (apiVersion.split("/") as [string, string]) : ["", apiVersion];
  const forceNew = ["metadata.name", "metadata.namespace"];
  const immutable = resource.inputs.immutable === true;
  // Secrets and ConfigMaps are replaced on a data change unless the provider is told they are mutable.
  // Provider inputs reach the engine as strings (Pulumi serialises a provider's config values), so
  // `true` is recorded as "true".
  const on = (value: unknown): boolean => value === true || value === "true";
  if (group === "" && version === "v1" && kind === "Secret" && (!on(providerInputs?.enableSecretMutable) || immutable)) {
    forceNew.push("type", "stringData", "data");
  } else if (group === "" && version === "v1" && kind === "ConfigMap" && (!on(providerInputs?.enableConfigMapMutable) || immutable)) {
    forceNew.push("binaryData", "data");
  } else {
    forceNew.push(...(K8S_FORCE_NEW[`${group}/${version}/${kind}`] ?? []));
  }
  // A different kind or API group is another object altogether; the table does not cover it.
  return { forceNew, maybe: ["apiVersion", "kind"], complete: true, source: K8S_SOURCE };
}

/**
 * The verdict for one changed input path of a resource. `providerInputs` are the inputs of the
 * resource's explicit provider, which can switch a provider's rules (Kubernetes' mutable Secrets).
 */
export function replacementOf(resource: RecordedResource, path: string, providerInputs?: Record<string, unknown>): ReplacementVerdict {
  for (const pattern of resource.replaceOnChanges) {
    if (pattern === "*" || pathMatches(path, pattern)) return { replaces: true, reason: `resource option replaceOnChanges: ${pattern}` };
  }
  if (!resource.custom) return { replaces: false, reason: "a component is never replaced by its provider" };
  const rules = resource.type.startsWith("kubernetes:") && !resource.type.startsWith("kubernetes:yaml") && !resource.type.startsWith("kubernetes:helm")
    ? kubernetesRules(resource, providerInputs)
    : BRIDGED[resource.type];
  if (!rules) return { replaces: undefined, reason: NOT_KNOWN };
  if (rules.forceNew.some((pattern) => pathMatches(path, pattern))) return { replaces: true, reason: rules.source };
  if (rules.maybe?.some((pattern) => pathMatches(path, pattern))) return { replaces: undefined, reason: `conditional, decided by the provider: ${rules.source}` };
  return rules.complete ? { replaces: false, reason: rules.source } : { replaces: undefined, reason: NOT_KNOWN };
}
