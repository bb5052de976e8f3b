/**
 * FluxOperator: the Flux Operator at a pinned release, declared object by object as the release's
 * install bundle has it (controlplaneio-fluxcd/flux-operator `config/default`: `rbac.yaml`,
 * `config/manager/{account,deployment,service}.yaml`), with its CRDs from the release's published
 * `crds.yaml`. The Deployment is written here, not applied from the bundle, so that its image is
 * pinned by digest and its hardening is reviewed in code.
 *
 * Deviation from upstream, on purpose: the operator's web UI (port 9080) is switched off
 * (`--web-server-port=0`); nothing in this platform uses it and it would be one more listener.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** Type token of {@link FluxOperator}. */
export const FLUX_OPERATOR_TYPE = "gitops-platform:k8s:FluxOperator";

/** Name of the operator's Deployment, ServiceAccount and Service (upstream's). */
export const OPERATOR_NAME = "flux-operator";
/** Port of the operator's Prometheus metrics (`--metrics-addr :8080`). */
export const OPERATOR_METRICS_PORT = 8080;
/** Port of the operator's health endpoints (`--health-addr :8081`). */
export const OPERATOR_HEALTH_PORT = 8081;

/** The release asset holding the operator's CRDs. */
export function operatorCrdsUrl(version: string): string {
  return `https://github.com/controlplaneio-fluxcd/flux-operator/releases/download/${version}/crds.yaml`;
}

/** CPU and memory of one side (requests or limits). */
export interface ComputeResources {
  readonly cpu: string;
  readonly memory: string;
}

export interface FluxOperatorArgs {
  /** Namespace to run in (the FluxNamespace's name output). */
  readonly namespace: pulumi.Input<string>;
  /** Release whose CRDs are installed, e.g. `v0.58.1`. */
  readonly version: string;
  /** Container image; pinned by digest in production. */
  readonly image: string;
  /** Replicas; leader election keeps one active. @default 1 */
  readonly replicas?: number;
  /** Requests and limits of the container. @default upstream's: requests 10m/64Mi, limits 1000m/1Gi */
  readonly resources?: { readonly requests: ComputeResources; readonly limits: ComputeResources };
}

export class FluxOperator extends pulumi.ComponentResource {
  /** The CRDs of the release (FluxInstance and the operator's other kinds). */
  public readonly crds: k8s.yaml.v2.ConfigFile;
  /** The operator Deployment. */
  public readonly deployment: k8s.apps.v1.Deployment;
  /** Name of the operator's ServiceAccount. */
  public readonly serviceAccountName: pulumi.Output<string>;
  /** The namespace, read back from the Deployment: whatever uses it waits for the operator. */
  public readonly namespace: pulumi.Output<string>;

  constructor(name: string, args: FluxOperatorArgs, opts?: pulumi.ComponentResourceOptions) {
    super(FLUX_OPERATOR_TYPE, name, {}, opts);
    const replicas = args.replicas ?? 1;
    const resources = args.resources ?? { requests: { cpu: "10m", memory: "64Mi" }, limits: { cpu: "1000m", memory: "1Gi" } };
    const labels = { "app.kubernetes.io/name": OPERATOR_NAME };

    this.crds = new k8s.yaml.v2.ConfigFile(`${name}-crds`, { file: operatorCrdsUrl(args.version) }, { parent: this });

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
              securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
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
                  env: [{ name: "RUNTIME_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }],
                  volumeMounts: [{ name: "temp", mountPath: "/tmp" }],
                },
              ],
              volumes: [{ name: "temp", emptyDir: {} }],
            },
          },
        },
      },
      // The operator watches its CRDs from the start.
      { parent: this, dependsOn: [this.crds] },
    );

    this.namespace = this.deployment.metadata.namespace;

    this.registerOutputs({ serviceAccountName: this.serviceAccountName, namespace: this.namespace });
  }
}
