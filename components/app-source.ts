/**
 * AppSource: what the reconciler pulls for one application repository, and the tenancy it is
 * applied under — a Flux GitRepository (source.toolkit.fluxcd.io/v1) cloned over SSH with the
 * repository's own deploy key, and a Flux Kustomization (kustomize.toolkit.fluxcd.io/v1) applying
 * its deploy path with pruning into the app's own namespace, as the app's own ServiceAccount.
 *
 * Tenancy (Flux's multi-tenancy lockdown, fluxcd.io/flux/installation/configuration/multitenancy):
 * kustomize-controller impersonates `system:serviceaccount:<Flux namespace>:<app>-reconciler`
 * (kustomize-controller v1.7.2, Flux 2.7.3, `internal/controller/kustomization_controller.go`: the account is
 * looked up in the Kustomization's namespace), which holds the `edit` ClusterRole through a
 * RoleBinding in the app's namespace only. So an app's manifests cannot create cluster-scoped
 * objects (Namespaces, ClusterRoles, CRDs, webhooks) nor touch any other namespace, the Flux
 * namespace included; `targetNamespace` places every namespaced object in the app's namespace.
 * The Flux objects stay in the Flux namespace, out of the app's reach, next to its deploy key.
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
/** The ClusterRole an app's ServiceAccount holds in its own namespace (Kubernetes' built-in). */
export const TENANT_CLUSTER_ROLE = "edit";

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
    // A RoleBinding (not a ClusterRoleBinding): `edit` applies in the app's namespace only.
    const binding = new k8s.rbac.v1.RoleBinding(
      `${name}-role-binding`,
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: tenantServiceAccountName(args.app), namespace: this.tenantNamespace.metadata.name, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: TENANT_CLUSTER_ROLE },
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
      { parent: this, dependsOn: [binding] },
    );

    this.registerOutputs({});
  }
}
