/**
 * ImageAutomation: Flux image automation for one application (image.toolkit.fluxcd.io/v1) — an
 * ImageRepository scanning the app's ECR repository with the `aws` provider (IRSA), an ImagePolicy
 * choosing the newest tag, and an ImageUpdateAutomation committing the new tag to the config
 * repository through the cluster sync's GitRepository.
 *
 * The commit changes only the setter-marked tag (`# {"$imagepolicy": "<ns>:<app>:tag"}`) in the
 * app's image-tag ConfigMap under `updatePath`, and is pushed to its own branch, never the
 * environment branch: the bump reaches the environment through a pull request (staging only;
 * production never runs image automation and gets the tag with the promotion pull request).
 * With a push branch other than the checkout branch, image-automation-controller (v1.0.3, Flux 2.7.3,
 * `internal/source/source.go` CheckoutSource with the GitAllBranchReferences gate on by default)
 * starts from the push branch when it exists and force-pushes it, so several apps' bumps accumulate
 * on one branch until its pull request merges. It never rebases that branch onto the checkout
 * branch: once the pull request merged, the branch must be deleted (the config repository's
 * "Automatically delete head branches"), or later runs keep working on its old tree and miss
 * markers added to the environment branch since (docs/apps.md).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { SEMVER_RANGE_EXAMPLES, semverRangeProblem } from "../semver-range";

/** Type token of {@link ImageAutomation}. */
export const IMAGE_AUTOMATION_TYPE = "gitops-platform:k8s:ImageAutomation";

/** The label tying an ImagePolicy to its app's ImageUpdateAutomation. */
export const APP_LABEL = "gitops-platform/app";

/** How the newest tag is chosen: a semver range, or a pattern whose named group is ordered. */
export type TagPolicy =
  | { readonly semver: string }
  | { readonly pattern: string; readonly extract: string; readonly order: "asc" | "desc"; readonly sort: "numerical" | "alphabetical" };

export interface ImageAutomationArgs {
  /** Namespace of the Flux objects (the FluxNamespace's name output). */
  readonly namespace: pulumi.Input<string>;
  /** Application name: names the three objects. */
  readonly app: string;
  /** The app's ECR repository URL, `<account>.dkr.ecr.<region>.amazonaws.com/<name>`. */
  readonly repositoryUrl: pulumi.Input<string>;
  /** How the newest tag is chosen. */
  readonly policy: TagPolicy;
  /** Registry scan and automation interval. */
  readonly interval: string;
  /** The cluster sync's GitRepository (the config repository). */
  readonly sourceName: pulumi.Input<string>;
  /** The environment branch the automation checks out. */
  readonly checkoutBranch: string;
  /** Branch the commits are pushed to; never the checkout (environment) branch. */
  readonly pushBranch: string;
  /** Directory of the config repository whose image markers are updated (the image-tag ConfigMaps). */
  readonly updatePath: string;
  /** Commit author. */
  readonly author: { readonly name: string; readonly email: string };
}

/** The ImagePolicy spec's tag selection for a {@link TagPolicy}. */
export function imagePolicySpec(policy: TagPolicy): Record<string, unknown> {
  if ("semver" in policy) return { policy: { semver: { range: policy.semver } } };
  return {
    filterTags: { pattern: policy.pattern, extract: policy.extract },
    policy: { [policy.sort]: { order: policy.order } },
  };
}

export class ImageAutomation extends pulumi.ComponentResource {
  public readonly imageRepository: k8s.apiextensions.CustomResource;
  public readonly imagePolicy: k8s.apiextensions.CustomResource;
  public readonly imageUpdateAutomation: k8s.apiextensions.CustomResource;
  /** Branch the automation pushes to. */
  public readonly pushBranch: string;

  constructor(name: string, args: ImageAutomationArgs, opts?: pulumi.ComponentResourceOptions) {
    super(IMAGE_AUTOMATION_TYPE, name, {}, opts);
    const pushBranch = args.pushBranch;
    if (pushBranch === args.checkoutBranch) {
      throw new Error(`${IMAGE_AUTOMATION_TYPE} ${name}: pushBranch must differ from the environment branch ${JSON.stringify(args.checkoutBranch)}; bumps reach it by pull request`);
    }
    // image-reflector-controller would only mark the ImagePolicy failed, in the cluster.
    const rangeProblem = "semver" in args.policy ? semverRangeProblem(args.policy.semver) : undefined;
    if (rangeProblem !== undefined) {
      throw new Error(`${IMAGE_AUTOMATION_TYPE} ${name}: policy.semver is not a semver range Flux can parse (${rangeProblem}); use one such as ${SEMVER_RANGE_EXAMPLES}`);
    }
    this.pushBranch = pushBranch;
    const labels = { "app.kubernetes.io/part-of": "gitops-platform", [APP_LABEL]: args.app };

    this.imageRepository = new k8s.apiextensions.CustomResource(
      `${name}-image-repository`,
      {
        apiVersion: "image.toolkit.fluxcd.io/v1",
        kind: "ImageRepository",
        metadata: { name: args.app, namespace: args.namespace, labels },
        spec: { image: args.repositoryUrl, interval: args.interval, provider: "aws" },
      },
      { parent: this },
    );

    this.imagePolicy = new k8s.apiextensions.CustomResource(
      `${name}-image-policy`,
      {
        apiVersion: "image.toolkit.fluxcd.io/v1",
        kind: "ImagePolicy",
        metadata: { name: args.app, namespace: args.namespace, labels },
        spec: { imageRepositoryRef: { name: this.imageRepository.metadata.name }, ...imagePolicySpec(args.policy) },
      },
      { parent: this },
    );

    this.imageUpdateAutomation = new k8s.apiextensions.CustomResource(
      `${name}-image-update-automation`,
      {
        apiVersion: "image.toolkit.fluxcd.io/v1",
        kind: "ImageUpdateAutomation",
        metadata: { name: args.app, namespace: args.namespace, labels },
        spec: {
          interval: args.interval,
          sourceRef: { kind: "GitRepository", name: args.sourceName },
          // Each app's automation touches only its own policy's markers, on its own push branch.
          policySelector: { matchLabels: { [APP_LABEL]: args.app } },
          git: {
            checkout: { ref: { branch: args.checkoutBranch } },
            commit: { author: { name: args.author.name, email: args.author.email } },
            push: { branch: pushBranch },
          },
          update: { path: `./${args.updatePath}`, strategy: "Setters" },
        },
      },
      { parent: this, dependsOn: [this.imagePolicy] },
    );

    this.registerOutputs({ pushBranch: this.pushBranch });
  }
}
