/**
 * DriftReader: the Kubernetes read access of the scheduled drift check. `pulumi preview --refresh`
 * reads every object the stack manages, and the Kubernetes provider fails a refresh on any error
 * but "not found", so the drift role must be able to read each managed kind — CRDs, cluster roles
 * and the deploy-key Secrets included — or a clean stack could never report clean.
 *
 * No EKS access policy fits: `AmazonEKSViewPolicy` (Kubernetes `view`) reads no Secrets, RBAC or
 * CRDs, and the admin views read every Secret in the cluster. So the drift role's access entry puts
 * it in a Kubernetes group, bound here to `get`/`list`/`watch` on exactly the kinds the program
 * manages, and to `get` on exactly the Secrets it manages, by name, in the Flux namespace.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** Type token of {@link DriftReader}. */
export const DRIFT_READER_TYPE = "gitops-platform:k8s:DriftReader";

/** One API group and the resources of it that the program declares. */
export interface ManagedKinds {
  readonly apiGroup: string;
  readonly resources: readonly string[];
}

/**
 * The kinds the program declares in the cluster (Secrets apart): what a refresh reads. A new kind in
 * a component needs its line here; test/drift-reader.test.ts fails on any kind of either stack's
 * plan that is missing.
 */
export const MANAGED_KINDS: readonly ManagedKinds[] = [
  { apiGroup: "", resources: ["namespaces", "serviceaccounts", "services", "configmaps"] },
  { apiGroup: "apps", resources: ["deployments"] },
  { apiGroup: "rbac.authorization.k8s.io", resources: ["clusterroles", "clusterrolebindings", "roles", "rolebindings"] },
  { apiGroup: "networking.k8s.io", resources: ["networkpolicies", "ingresses"] },
  { apiGroup: "apiextensions.k8s.io", resources: ["customresourcedefinitions"] },
  { apiGroup: "fluxcd.controlplane.io", resources: ["fluxinstances"] },
  { apiGroup: "source.toolkit.fluxcd.io", resources: ["gitrepositories"] },
  { apiGroup: "kustomize.toolkit.fluxcd.io", resources: ["kustomizations"] },
  { apiGroup: "image.toolkit.fluxcd.io", resources: ["imagerepositories", "imagepolicies", "imageupdateautomations"] },
  { apiGroup: "notification.toolkit.fluxcd.io", resources: ["receivers", "providers", "alerts"] },
];

export interface DriftReaderArgs {
  /** The Kubernetes group the drift role's EKS access entry puts it in. */
  readonly group: string;
  /** Namespace of Flux, where the Secrets the program manages live. */
  readonly namespace: pulumi.Input<string>;
  /** Names of the Secrets the program manages in that namespace: the only ones the group may read. */
  readonly secretNames: readonly pulumi.Input<string>[];
  /**
   * The kinds the group may read.
   * @default MANAGED_KINDS
   */
  readonly kinds?: readonly ManagedKinds[];
}

export class DriftReader extends pulumi.ComponentResource {
  /** Name of the ClusterRole with the managed kinds. */
  public readonly clusterRoleName: pulumi.Output<string>;
  /** Name of the Role with the managed Secrets. */
  public readonly secretRoleName: pulumi.Output<string>;

  constructor(name: string, args: DriftReaderArgs, opts?: pulumi.ComponentResourceOptions) {
    super(DRIFT_READER_TYPE, name, {}, opts);
    const kinds = args.kinds ?? MANAGED_KINDS;
    const labels = { "app.kubernetes.io/part-of": "gitops-platform" };
    const subjects = [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: args.group }];

    const clusterRole = new k8s.rbac.v1.ClusterRole(
      `${name}-kinds`,
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: "gitops-platform-drift-reader", labels },
        rules: kinds.map((entry) => ({ apiGroups: [entry.apiGroup], resources: [...entry.resources], verbs: ["get", "list", "watch"] })),
      },
      { parent: this },
    );
    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-kinds-binding`,
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "gitops-platform-drift-reader", labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRole.metadata.name },
        subjects,
      },
      { parent: this },
    );

    // `get` by name only: `list` and `watch` cannot be limited to names and would show every Secret.
    const secretRole = new k8s.rbac.v1.Role(
      `${name}-secrets`,
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "gitops-platform-drift-reader-secrets", namespace: args.namespace, labels },
        rules: [{ apiGroups: [""], resources: ["secrets"], resourceNames: [...args.secretNames], verbs: ["get"] }],
      },
      { parent: this },
    );
    new k8s.rbac.v1.RoleBinding(
      `${name}-secrets-binding`,
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "gitops-platform-drift-reader-secrets", namespace: args.namespace, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: secretRole.metadata.name },
        subjects,
      },
      { parent: this },
    );

    this.clusterRoleName = clusterRole.metadata.name;
    this.secretRoleName = secretRole.metadata.name;
    this.registerOutputs({ clusterRoleName: this.clusterRoleName, secretRoleName: this.secretRoleName });
  }
}
