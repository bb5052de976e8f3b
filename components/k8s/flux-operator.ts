/**
 * FluxOperator: the Flux Operator at a pinned release, declared object by object as the release's
 * install bundle has it (controlplaneio-fluxcd/flux-operator `config/default`: `rbac.yaml`,
 * `config/manager/{account,deployment,service}.yaml`), with its CRDs vendored from the release's
 * `config/crd/bases` into `vendor/flux-operator/<version>/` (`npm run vendor:flux-operator`): nothing
 * is downloaded at deploy time. The Deployment is written here, not applied from the bundle, so that
 * its image is pinned by digest and its hardening is reviewed in code.
 *
 * Deviations from upstream's `config/manager`, on purpose:
 * - the operator's web UI (port 9080) is switched off (`--web-server-port=0`); nothing in this
 *   platform uses it and it would be one more listener;
 * - `DEFAULT_SERVICE_ACCOUNT=flux-operator`, as upstream's own installer sets it for a multi-tenant
 *   FluxInstance (v0.58.1 `internal/install/deploy.go`): a ResourceSet or ResourceSetInputProvider
 *   that names no ServiceAccount is applied as the `flux-operator` account of its own namespace
 *   (`internal/controller/resourceset_controller.go`), not as the operator's cluster-admin. Anyone
 *   holding `edit`, which upstream's `flux-operator-edit` role extends to ResourceSets, could
 *   otherwise have the operator apply anything, cluster-wide (apps hold no `edit`: AppSource).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { loadAll } from "js-yaml";
import vendored from "../../vendor/flux-operator/manifest.json";

/** Type token of {@link FluxOperator}. */
export const FLUX_OPERATOR_TYPE = "gitops-platform:k8s:FluxOperator";

/** Name of the operator's Deployment, ServiceAccount and Service (upstream's). */
export const OPERATOR_NAME = "flux-operator";
/** Port of the operator's Prometheus metrics (`--metrics-addr :8080`). */
export const OPERATOR_METRICS_PORT = 8080;
/** The ServiceAccount a ResourceSet without one is applied as, in its own namespace. */
export const DEFAULT_SERVICE_ACCOUNT = OPERATOR_NAME;
/** Port of the operator's health endpoints (`--health-addr :8081`). */
export const OPERATOR_HEALTH_PORT = 8081;

/** The operator release whose CRDs are vendored (`vendor/flux-operator/manifest.json`). */
export const VENDORED_OPERATOR_VERSION: string = vendored.version;

/**
 * The user and group of the operator image (`USER 65532:65532`, distroless `nonroot`, in the
 * Dockerfile of controlplaneio-fluxcd/flux-operator v0.58.1); pinned so the pod runs as that user
 * whatever the image metadata says.
 */
export const OPERATOR_USER = 65532;

/** Upstream's requests and limits of the manager (`config/manager/deployment.yaml` at v0.58.1). */
export const OPERATOR_RESOURCES = { requests: { cpu: "10m", memory: "64Mi" }, limits: { cpu: "2000m", memory: "1Gi" } } as const;

/** `vendor/flux-operator`, found from this file upward (the program may run bundled from elsewhere in the project). */
function findVendorRoot(): string {
  const relative = path.join("vendor", "flux-operator");
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, relative, "manifest.json"))) return path.join(dir, relative);
    if (path.dirname(dir) === dir) throw new Error(`vendor/flux-operator not found above ${__dirname}`);
  }
}

/**
 * The CustomResourceDefinitions of the vendored operator release, each file checked against the
 * sha256 the manifest records, so an edited or truncated copy fails here instead of in the cluster.
 */
export function vendoredOperatorCrds(version: string, vendorRoot: string = findVendorRoot()): Record<string, unknown>[] {
  if (version !== vendored.version) {
    throw new Error(`Flux Operator ${version} is not vendored (vendor/flux-operator holds ${vendored.version}); run npm run vendor:flux-operator -- ${version}`);
  }
  const dir = path.join(vendorRoot, version);
  return vendored.files.flatMap((entry) => {
    const content = fs.readFileSync(path.join(dir, entry.file));
    const digest = createHash("sha256").update(content).digest("hex");
    if (digest !== entry.sha256) {
      throw new Error(`vendor/flux-operator/${version}/${entry.file}: sha256 ${digest} differs from the manifest's ${entry.sha256} (${entry.url})`);
    }
    return loadAll(content.toString("utf8")).map((doc) => {
      const crd = doc as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } };
      if (crd.apiVersion !== "apiextensions.k8s.io/v1" || crd.kind !== "CustomResourceDefinition" || typeof crd.metadata?.name !== "string") {
        throw new Error(`vendor/flux-operator/${version}/${entry.file}: expected apiextensions.k8s.io/v1 CustomResourceDefinitions only`);
      }
      return doc as Record<string, unknown>;
    });
  });
}

/** CPU and memory of one side (requests or limits). */
export interface ComputeResources {
  readonly cpu: string;
  readonly memory: string;
}

/** Defaults of the optional {@link FluxOperatorArgs}; the stack contract's `reconciler.operator` defaults to them too. */
export const FLUX_OPERATOR_DEFAULTS = { replicas: 1, resources: OPERATOR_RESOURCES } as const;

export interface FluxOperatorArgs {
  /** Namespace to run in (the FluxNamespace's name output). */
  readonly namespace: pulumi.Input<string>;
  /** Release whose CRDs are installed, e.g. `v0.58.1`; must be the vendored one. */
  readonly version: string;
  /** Container image; pinned by digest in production. */
  readonly image: string;
  /** Replicas; leader election keeps one active. @default 1 */
  readonly replicas?: number;
  /** Requests and limits of the container. @default upstream's: requests 10m/64Mi, limits 2000m/1Gi */
  readonly resources?: { readonly requests: ComputeResources; readonly limits: ComputeResources };
}

export class FluxOperator extends pulumi.ComponentResource {
  /** The CRDs of the release (FluxInstance and the operator's other kinds), by CRD name. */
  public readonly crds: Record<string, k8s.apiextensions.v1.CustomResourceDefinition>;
  /** The operator Deployment. */
  public readonly deployment: k8s.apps.v1.Deployment;
  /** Name of the operator's ServiceAccount. */
  public readonly serviceAccountName: pulumi.Output<string>;
  /** The namespace, read back from the Deployment: whatever uses it waits for the operator. */
  public readonly namespace: pulumi.Output<string>;

  constructor(name: string, args: FluxOperatorArgs, opts?: pulumi.ComponentResourceOptions) {
    super(FLUX_OPERATOR_TYPE, name, {}, opts);
    const replicas = args.replicas ?? FLUX_OPERATOR_DEFAULTS.replicas;
    const resources = args.resources ?? FLUX_OPERATOR_DEFAULTS.resources;
    const labels = { "app.kubernetes.io/name": OPERATOR_NAME };

    // One resource per CRD, so a preview shows each schema change and `plan --out` renders them.
    this.crds = {};
    for (const crd of vendoredOperatorCrds(args.version)) {
      const crdName = (crd.metadata as { name: string }).name;
      this.crds[crdName] = new k8s.apiextensions.v1.CustomResourceDefinition(
        `${name}-crd-${crdName}`,
        crd as unknown as k8s.apiextensions.v1.CustomResourceDefinitionArgs,
        { parent: this },
      );
    }

    const account = new k8s.core.v1.ServiceAccount(
      `${name}-service-account`,
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: OPERATOR_NAME, namespace: args.namespace, labels } },
      { parent: this },
    );
    this.serviceAccountName = account.metadata.name;

    // The operator installs Flux, whose controllers hold cluster-admin; upstream binds it likewise.
    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-cluster-admin`,
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: `${OPERATOR_NAME}-cluster-admin`, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
        subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace: args.namespace }],
      },
      { parent: this },
    );
    const operatorKinds = ["resourcesets", "resourcesetinputproviders"];
    new k8s.rbac.v1.ClusterRole(
      `${name}-edit`,
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: {
          name: `${OPERATOR_NAME}-edit`,
          labels: { ...labels, "rbac.authorization.k8s.io/aggregate-to-edit": "true", "rbac.authorization.k8s.io/aggregate-to-admin": "true" },
        },
        rules: [{ apiGroups: ["fluxcd.controlplane.io"], resources: operatorKinds, verbs: ["create", "delete", "deletecollection", "patch", "update"] }],
      },
      { parent: this },
    );
    new k8s.rbac.v1.ClusterRole(
      `${name}-view`,
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: {
          name: `${OPERATOR_NAME}-view`,
          labels: {
            ...labels,
            "rbac.authorization.k8s.io/aggregate-to-admin": "true",
            "rbac.authorization.k8s.io/aggregate-to-edit": "true",
            "rbac.authorization.k8s.io/aggregate-to-view": "true",
          },
        },
        rules: [{ apiGroups: ["fluxcd.controlplane.io"], resources: operatorKinds, verbs: ["get", "list", "watch"] }],
      },
      { parent: this },
    );

    new k8s.core.v1.Service(
      `${name}-service`,
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: OPERATOR_NAME, namespace: args.namespace, labels },
        spec: {
          type: "ClusterIP",
          selector: labels,
          ports: [{ name: "http", port: OPERATOR_METRICS_PORT, protocol: "TCP", targetPort: "http-metrics" }],
        },
      },
      { parent: this },
    );

    this.deployment = new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: OPERATOR_NAME, namespace: args.namespace, labels },
        spec: {
          replicas,
          selector: { matchLabels: labels },
          template: {
            metadata: {
              labels,
              annotations: {
                "kubectl.kubernetes.io/default-container": "manager",
                "prometheus.io/scrape": "true",
                "prometheus.io/port": String(OPERATOR_METRICS_PORT),
                "prometheus.io/path": "/metrics",
              },
            },
            spec: {
              serviceAccountName: account.metadata.name,
              terminationGracePeriodSeconds: 10,
              securityContext: { runAsNonRoot: true, runAsUser: OPERATOR_USER, runAsGroup: OPERATOR_USER, seccompProfile: { type: "RuntimeDefault" } },
              affinity: {
                nodeAffinity: {
                  requiredDuringSchedulingIgnoredDuringExecution: {
                    nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/os", operator: "In", values: ["linux"] }] }],
                  },
                },
              },
              containers: [
                {
                  name: "manager",
                  image: args.image,
                  imagePullPolicy: "IfNotPresent",
                  args: ["--web-server-port=0"],
                  securityContext: {
                    runAsNonRoot: true,
                    readOnlyRootFilesystem: true,
                    allowPrivilegeEscalation: false,
                    capabilities: { drop: ["ALL"] },
                    seccompProfile: { type: "RuntimeDefault" },
                  },
                  ports: [
                    { containerPort: OPERATOR_METRICS_PORT, name: "http-metrics", protocol: "TCP" },
                    { containerPort: OPERATOR_HEALTH_PORT, name: "http", protocol: "TCP" },
                  ],
                  livenessProbe: { httpGet: { path: "/healthz", port: OPERATOR_HEALTH_PORT }, initialDelaySeconds: 15, periodSeconds: 20 },
                  readinessProbe: { httpGet: { path: "/readyz", port: OPERATOR_HEALTH_PORT }, initialDelaySeconds: 5, periodSeconds: 10 },
                  resources: {
                    requests: { cpu: resources.requests.cpu, memory: resources.requests.memory },
                    limits: { cpu: resources.limits.cpu, memory: resources.limits.memory },
                  },
                  env: [
                    { name: "RUNTIME_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                    { name: "DEFAULT_SERVICE_ACCOUNT", value: DEFAULT_SERVICE_ACCOUNT },
                  ],
                  volumeMounts: [{ name: "temp", mountPath: "/tmp" }],
                },
              ],
              volumes: [{ name: "temp", emptyDir: {} }],
            },
          },
        },
      },
      // The operator watches its CRDs from the start.
      { parent: this, dependsOn: Object.values(this.crds) },
    );

    this.namespace = this.deployment.metadata.namespace;

    this.registerOutputs({ serviceAccountName: this.serviceAccountName, namespace: this.namespace });
  }
}
