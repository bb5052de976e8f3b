/**
 * AppSource: what the reconciler pulls for one application repository, and the tenancy it is
 * applied under — a Flux GitRepository (source.toolkit.fluxcd.io/v1) cloned over SSH with the
 * repository's own deploy key, and a Flux Kustomization (kustomize.toolkit.fluxcd.io/v1) applying
 * its deploy path with pruning into the app's own namespace, as the app's own ServiceAccount.
 *
 * Tenancy (Flux's multi-tenancy lockdown, fluxcd.io/flux/installation/configuration/multitenancy):
 * kustomize-controller impersonates `system:serviceaccount:<Flux namespace>:<app>-reconciler`
 * (kustomize-controller v1.7.2, Flux 2.7.3, `internal/controller/kustomization_controller.go`: the account is
 * looked up in the Kustomization's namespace), which holds the platform's own tenant Role
 * ({@link TENANT_RULES}) in the app's namespace only. So an app's manifests cannot create
 * cluster-scoped objects (Namespaces, ClusterRoles, CRDs, webhooks) nor touch any other namespace,
 * the Flux namespace included; `targetNamespace` places every namespaced object in the app's
 * namespace. The Flux objects stay in the Flux namespace, out of the app's reach, next to its key.
 *
 * Why not Kubernetes' built-in `edit`: it aggregates every ClusterRole labelled
 * `aggregate-to-edit`, and Flux's own install carries one (`flux-edit`, flux-operator v0.58.1
 * `config/data/flux/v2.7.3/rbac.yaml`: create/update/delete on `*` of every toolkit API group), as
 * does the operator's (`flux-operator-edit`: ResourceSets). With it an app could create its own
 * Kustomizations (SOPS decryption with kustomize-controller's KMS identity, or applying to another
 * cluster through `spec.kubeConfig`), ImageRepositories (scanning with the reflector's IRSA role),
 * Providers/Alerts (outbound HTTP from the Flux namespace's controllers) and Receivers. The tenant
 * Role is a plain namespaced Role, closed to aggregation, naming workload kinds only.
 *
 * What a manifest may use (postBuild substitution): `${IMAGE_REPOSITORY}` (the app's ECR
 * repository, known to the program), `${IMAGE_TAG}` (from the `<app>-image` ConfigMap the config
 * repo's `clusters/base/` holds, bumped there by image automation in staging and promoted to prod
 * by pull request), and the platform metadata keys (`ENVIRONMENT`, `AWS_REGION`, ...).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { githubSshUrl } from "./flux-instance";
import { POD_SECURITY_LEVEL } from "./flux-namespace";

/** The ConfigMap key holding an app's image tag, and the variable its manifests use. */
export const IMAGE_TAG_KEY = "IMAGE_TAG";
/** The variable holding the app's image repository (without tag). */
export const IMAGE_REPOSITORY_KEY = "IMAGE_REPOSITORY";
/** What an app's manifests may manage in its own namespace: workload kinds only. */
const TENANT_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"];

/**
 * The rules of the tenant Role: the kinds an application's deploy path may hold, in its namespace.
 * Left out on purpose: every Flux and Flux Operator API group (no Kustomization, source, image,
 * notification or ResourceSet object), RBAC (no Role or RoleBinding, so nothing in the namespace
 * can be granted more than nothing), `pods` (workload controllers create them), `pods/exec` and
 * `pods/portforward`, `serviceaccounts/token` (no token requests), Events, ResourceQuotas and
 * LimitRanges (the platform's to set). ServiceAccounts and Secrets are in: pods need their own
 * accounts (e.g. for IRSA, which the IAM role's trust must name anyway) and SOPS-decrypted Secrets
 * are applied as the app. A `kubernetes.io/service-account-token` Secret the app writes yields a
 * token of an account in its own namespace, which holds no rights the app could not use itself.
 */
export const TENANT_RULES: readonly { readonly apiGroups: readonly string[]; readonly resources: readonly string[]; readonly verbs: readonly string[] }[] = [
  { apiGroups: [""], resources: ["configmaps", "secrets", "services", "serviceaccounts", "persistentvolumeclaims"], verbs: TENANT_VERBS },
  { apiGroups: ["apps"], resources: ["deployments", "statefulsets"], verbs: TENANT_VERBS },
  { apiGroups: ["batch"], resources: ["jobs", "cronjobs"], verbs: TENANT_VERBS },
  { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers"], verbs: TENANT_VERBS },
  { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: TENANT_VERBS },
  { apiGroups: ["networking.k8s.io"], resources: ["ingresses", "networkpolicies"], verbs: TENANT_VERBS },
];

/** The Role (in the app's namespace) its ServiceAccount holds. */
export function tenantRoleName(app: string): string {
  return `${app}-tenant`;
}

/** The ConfigMap, in the Flux namespace, holding an app's image tag (shipped in `clusters/base/`). */
export function imageTagConfigMapName(app: string): string {
  return `${app}-image`;
}

/** The ServiceAccount, in the Flux namespace, an app's Kustomization runs as. */
export function tenantServiceAccountName(app: string): string {
  return `${app}-reconciler`;
}

/** Type token of {@link AppSource}. */
export const APP_SOURCE_TYPE = "gitops-platform:k8s:AppSource";

export interface AppSourceArgs {
  /** Namespace of the Flux objects (the FluxNamespace's name output). */
  readonly namespace: pulumi.Input<string>;
  /** Application name: names both objects. */
  readonly app: string;
  /** The application's repository, `owner/name`. */
  readonly repo: string;
  /** Branch to pull. */
  readonly branch: string;
  /** Path of the deploy manifests in the repository. */
  readonly path: string;
  /** Reconcile interval of both objects. */
  readonly interval: string;
  /** Secret with the repository's deploy key (its name output, so the source waits for it). */
  readonly secretName: pulumi.Input<string>;
  /** ConfigMap of platform names and ARNs the Kustomization substitutes variables from. */
  readonly substituteFrom: pulumi.Input<string>;
  /** The app's image repository (ECR URL), substituted as `${IMAGE_REPOSITORY}`. */
  readonly imageRepository: pulumi.Input<string>;
  /**
   * The environment sync's Kustomization (it applies the image-tag ConfigMaps): the app waits for it.
   */
  readonly syncKustomization: string;
  /** Delete what disappears from the path. @default true */
  readonly prune?: boolean;
  /** Pod Security Standard enforced in the app's namespace. @default restricted */
  readonly podSecurity?: "restricted" | "baseline";
  /** Decrypt SOPS-encrypted files of the path (kustomize-controller's own KMS identity). @default false */
  readonly decryption?: boolean;
}

export class AppSource extends pulumi.ComponentResource {
  /** The GitRepository (its name is the app's). */
  public readonly gitRepository: k8s.apiextensions.CustomResource;
  /** The Kustomization (its name is the app's). */
  public readonly kustomization: k8s.apiextensions.CustomResource;
  /** The app's namespace (its name is the app's). */
  public readonly tenantNamespace: k8s.core.v1.Namespace;
  /** The ServiceAccount the Kustomization runs as. */
  public readonly serviceAccount: k8s.core.v1.ServiceAccount;
  /** What that ServiceAccount may do in the app's namespace ({@link TENANT_RULES}). */
  public readonly tenantRole: k8s.rbac.v1.Role;

  constructor(name: string, args: AppSourceArgs, opts?: pulumi.ComponentResourceOptions) {
    super(APP_SOURCE_TYPE, name, {}, opts);
    const prune = args.prune ?? true;
    const podSecurity = args.podSecurity ?? POD_SECURITY_LEVEL;
    const decryption = args.decryption ?? false;
    const labels = { "app.kubernetes.io/part-of": "gitops-platform", "gitops-platform/app": args.app };

    this.tenantNamespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: {
          name: args.app,
          labels: {
            ...labels,
            "pod-security.kubernetes.io/enforce": podSecurity,
            "pod-security.kubernetes.io/audit": podSecurity,
            "pod-security.kubernetes.io/warn": podSecurity,
          },
        },
      },
      { parent: this },
    );
    this.serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-service-account`,
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: tenantServiceAccountName(args.app), namespace: args.namespace, labels } },
      { parent: this },
    );
    // A namespaced Role with no aggregation: nothing installed later can widen it.
    this.tenantRole = new k8s.rbac.v1.Role(
      `${name}-role`,
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: tenantRoleName(args.app), namespace: this.tenantNamespace.metadata.name, labels },
        rules: TENANT_RULES.map((rule) => ({ apiGroups: [...rule.apiGroups], resources: [...rule.resources], verbs: [...rule.verbs] })),
      },
      { parent: this },
    );
    // A RoleBinding (not a ClusterRoleBinding): the Role applies in the app's namespace only.
    const binding = new k8s.rbac.v1.RoleBinding(
      `${name}-role-binding`,
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: tenantServiceAccountName(args.app), namespace: this.tenantNamespace.metadata.name, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: this.tenantRole.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: this.serviceAccount.metadata.name, namespace: args.namespace }],
      },
      { parent: this },
    );

    this.gitRepository = new k8s.apiextensions.CustomResource(
      `${name}-git-repository`,
      {
        apiVersion: "source.toolkit.fluxcd.io/v1",
        kind: "GitRepository",
        metadata: { name: args.app, namespace: args.namespace, labels },
        spec: {
          interval: args.interval,
          url: githubSshUrl(args.repo),
          ref: { branch: args.branch },
          secretRef: { name: args.secretName },
        },
      },
      { parent: this },
    );

    this.kustomization = new k8s.apiextensions.CustomResource(
      `${name}-kustomization`,
      {
        apiVersion: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        metadata: { name: args.app, namespace: args.namespace, labels },
        spec: {
          interval: args.interval,
          path: `./${args.path}`,
          prune,
          sourceRef: { kind: "GitRepository", name: this.gitRepository.metadata.name },
          serviceAccountName: this.serviceAccount.metadata.name,
          targetNamespace: this.tenantNamespace.metadata.name,
          // The image tag ConfigMap comes from the environment sync: no tag, no rollout.
          dependsOn: [{ name: args.syncKustomization }],
          postBuild: {
            substitute: { [IMAGE_REPOSITORY_KEY]: args.imageRepository },
            substituteFrom: [
              { kind: "ConfigMap", name: args.substituteFrom },
              { kind: "ConfigMap", name: imageTagConfigMapName(args.app) },
            ],
          },
          // No secretRef: the KMS credentials come from the controller's IRSA role.
          ...(decryption ? { decryption: { provider: "sops" } } : {}),
        },
      },
      // Applying as the ServiceAccount needs its permissions first.
      { parent: this, dependsOn: [this.tenantRole, binding] },
    );

    this.registerOutputs({});
  }
}
