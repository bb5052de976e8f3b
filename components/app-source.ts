/**
 * AppSource: what the reconciler pulls for one application repository — a Flux GitRepository
 * (source.toolkit.fluxcd.io/v1) cloned over SSH with the repository's own deploy key, and a Flux
 * Kustomization (kustomize.toolkit.fluxcd.io/v1) applying its deploy path with pruning, the
 * platform's names and ARNs substituted from the metadata ConfigMap.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { githubSshUrl } from "./flux-instance";

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
  /** ConfigMap the Kustomization substitutes variables from. */
  readonly substituteFrom: pulumi.Input<string>;
  /** Delete what disappears from the path. @default true */
  readonly prune?: boolean;
  /** Decrypt SOPS-encrypted files of the path (kustomize-controller's own KMS identity). @default false */
  readonly decryption?: boolean;
}

export class AppSource extends pulumi.ComponentResource {
  /** The GitRepository (its name is the app's). */
  public readonly gitRepository: k8s.apiextensions.CustomResource;
  /** The Kustomization (its name is the app's). */
  public readonly kustomization: k8s.apiextensions.CustomResource;

  constructor(name: string, args: AppSourceArgs, opts?: pulumi.ComponentResourceOptions) {
    super(APP_SOURCE_TYPE, name, {}, opts);
    const prune = args.prune ?? true;
    const decryption = args.decryption ?? false;
    const labels = { "app.kubernetes.io/part-of": "gitops-platform", "gitops-platform/app": args.app };

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
          postBuild: { substituteFrom: [{ kind: "ConfigMap", name: args.substituteFrom }] },
          // No secretRef: the KMS credentials come from the controller's IRSA role.
          ...(decryption ? { decryption: { provider: "sops" } } : {}),
        },
      },
      { parent: this },
    );

    this.registerOutputs({});
  }
}
