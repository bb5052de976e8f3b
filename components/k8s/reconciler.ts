/**
 * Reconciler: the in-cluster reconciler of one environment. Composes the Flux Operator, the
 * FluxInstance that installs Flux and syncs the environment branch, one AppSource per application,
 * image automation (with its ECR read permissions) for the apps that enable it, the webhook
 * receiver, the namespace's NetworkPolicies, and the ConfigMap that hands AWS names and ARNs to
 * manifests through postBuild substitution.
 *
 * Providers come from `opts.providers` (kubernetes, github, aws) and reach every child.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AppSource } from "./app-source";
import { FluxInstance } from "./flux-instance";
import { FluxNetworkPolicies, REPLACED_FLUX_POLICIES } from "./flux-network-policies";
import { FluxOperator, type ComputeResources } from "./flux-operator";
import { ImageAutomation, type TagPolicy } from "./image-automation";
import { RECEIVER_HEALTH_PORT, RECEIVER_PORT, WebhookReceiver } from "./webhook-receiver";

/** Type token of {@link Reconciler}. */
export const RECONCILER_TYPE = "gitops-platform:k8s:Reconciler";

/** Name of the ConfigMap of platform names and ARNs that Kustomizations substitute from. */
export const METADATA_CONFIG_MAP = "platform-metadata";

/**
 * Where the config repository keeps each app's image tag (`<app>-image.yaml`, the ConfigMaps that
 * app Kustomizations substitute `${IMAGE_TAG}` from). Outside `clusters/<env>` on purpose: every
 * environment's sync path includes it, so the one tag file travels staging → prod by promotion.
 */
export const IMAGE_TAGS_PATH = "clusters/base";

/** How the reconciler runs: which operator and Flux, how often, who may scrape it, the webhook. */
export interface ReconcilerSettings {
  /** The Flux Operator: its release (the vendored one), image, replicas and container resources. */
  readonly operator: {
    readonly version: string;
    readonly image: string;
    readonly replicas: number;
    readonly resources: { readonly requests: ComputeResources; readonly limits: ComputeResources };
  };
  /** The Flux distribution: exact version and the registry of its images. */
  readonly flux: { readonly version: string; readonly registry: string };
  /** How often the environment branch is fetched (a Go duration). */
  readonly interval: string;
  /** The only namespace that may scrape the controllers' metrics. */
  readonly metricsNamespace: string;
  /** Author of image automation commits. */
  readonly commitAuthor: { readonly name: string; readonly email: string };
  /** The GitHub webhook receiver behind the load balancer. @default none: Flux polls */
  readonly webhook?: {
    readonly host: string;
    readonly certificateArn: string;
    readonly ingressClassName?: string;
    readonly sslPolicy?: string;
  };
}

/** The ECR actions image-reflector-controller needs to list and inspect tags. */
export const ECR_READ_ACTIONS = [
  "ecr:BatchCheckLayerAvailability",
  "ecr:BatchGetImage",
  "ecr:DescribeImages",
  "ecr:DescribeRepositories",
  "ecr:GetDownloadUrlForLayer",
  "ecr:ListImages",
] as const;

/** One application the reconciler pulls. */
export interface ReconcilerApp {
  /** Application name (RFC 1123 label): names its Flux objects. */
  readonly name: string;
  /** Repository, `owner/name`. */
  readonly repo: string;
  /** Branch to pull. */
  readonly branch: string;
  /** Deploy path in the repository. */
  readonly path: string;
  /** Reconcile interval. */
  readonly interval: string;
  /** Secret with the repository's deploy key (the DeployKey's Secret name output). */
  readonly secretName: pulumi.Input<string>;
  /** The app's ECR repository. */
  readonly repository: { readonly url: pulumi.Input<string>; readonly arn: pulumi.Input<string> };
  /** Image automation: how to choose tags, how often, and the branch to push to. @default none */
  readonly imageAutomation?: { readonly policy: TagPolicy; readonly interval: string; readonly pushBranch: string };
}

export interface ReconcilerArgs {
  /** Environment name (the stack's). */
  readonly environment: string;
  /** Namespace of the operator and Flux (the FluxNamespace's name output). */
  readonly namespace: pulumi.Input<string>;
  /** Operator, Flux, intervals, metrics access and the webhook. */
  readonly settings: ReconcilerSettings;
  /** The config repository and the deploy-key Secret the sync pulls it with. */
  readonly configRepo: {
    readonly repo: string;
    readonly branch: string;
    readonly path: string;
    readonly secretName: pulumi.Input<string>;
  };
  /** Applications. */
  readonly apps: readonly ReconcilerApp[];
  /** AWS names handed to manifests. */
  readonly aws: { readonly region: string; readonly accountId: string; readonly bucketName: pulumi.Input<string> };
  /** The IRSA role of image-reflector-controller; required when an app uses image automation. @default none */
  readonly imageReflectorRole?: { readonly arn: pulumi.Input<string>; readonly name: pulumi.Input<string> };
  /** The receiver's load balancer protection (the Firewall's); required when `settings.webhook` is set. @default none */
  readonly webhookExposure?: { readonly securityGroupIds: pulumi.Input<pulumi.Input<string>[]>; readonly wafAclArn?: pulumi.Input<string> };
  /** IRSA role kustomize-controller decrypts app secrets with (SOPS); app Kustomizations decrypt when set. @default none */
  readonly appSecretsRoleArn?: pulumi.Input<string>;
  /** More `KEY: value` entries for the metadata ConfigMap (keys are Flux variable names). @default none */
  readonly extraMetadata?: Readonly<Record<string, pulumi.Input<string>>>;
}

/** The metadata ConfigMap key of an app's ECR repository URL, e.g. `ECR_REPOSITORY_URL_ORDERS`. */
export function repositoryUrlKey(app: string): string {
  return `ECR_REPOSITORY_URL_${app.toUpperCase().replace(/-/g, "_")}`;
}

/** The identity policy letting image-reflector-controller read the given ECR repositories. */
export function ecrReadPolicy(repositoryArns: readonly string[]): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Sid: "ReadRepositories", Effect: "Allow", Action: [...ECR_READ_ACTIONS], Resource: [...repositoryArns] },
      // Registry login is account-wide in ECR: it cannot be scoped to repositories.
      { Sid: "RegistryLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
    ],
  });
}

export class Reconciler extends pulumi.ComponentResource {
  /** Name of the sync GitRepository (the config repository), which image automation commits through. */
  public readonly syncName: string;
  /** The Flux namespace, resolved once the FluxInstance is Ready: Flux objects placed with it wait for Flux's CRDs. */
  public readonly fluxNamespace: pulumi.Output<string>;
  /** Flux controllers installed. */
  public readonly components: readonly string[];
  /** Push branch of each automated app. */
  public readonly pushBranches: Readonly<Record<string, string>>;
  /** The receiver URL GitHub posts to (secret), when the webhook is on. */
  public readonly webhookUrl: pulumi.Output<string> | undefined;
  /** DNS name of the receiver's load balancer, when the webhook is on. */
  public readonly webhookLoadBalancer: pulumi.Output<string> | undefined;

  constructor(name: string, args: ReconcilerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(RECONCILER_TYPE, name, {}, opts);
    const settings = args.settings;
    const extraMetadata = args.extraMetadata ?? {};
    const automated = args.apps.filter((app) => app.imageAutomation !== undefined);

    const problems: string[] = [];
    if (automated.length > 0 && args.imageReflectorRole === undefined) {
      problems.push(`imageReflectorRole: required because ${automated.map((app) => app.name).join(", ")} use image automation`);
    }
    if (settings.webhook !== undefined && args.webhookExposure === undefined) {
      problems.push("webhookExposure: required because settings.webhook is set (the receiver's load balancer needs the Firewall's security groups)");
    }
    for (const key of Object.keys(extraMetadata)) {
      if (!/^[_a-zA-Z][_a-zA-Z0-9]*$/.test(key)) problems.push(`extraMetadata.${key}: not a Flux variable name (letters, digits, '_', not starting with a digit)`);
    }
    if (problems.length > 0) throw new Error(`${RECONCILER_TYPE} ${name}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);

    const operator = new FluxOperator(
      `${name}-operator`,
      {
        namespace: args.namespace,
        version: settings.operator.version,
        image: settings.operator.image,
        replicas: settings.operator.replicas,
        resources: settings.operator.resources,
      },
      { parent: this },
    );

    const metadata = new k8s.core.v1.ConfigMap(
      `${name}-metadata`,
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: METADATA_CONFIG_MAP,
          namespace: args.namespace,
          // kustomize-controller re-applies every app substituting from it as soon as it changes (Flux 2.7's watch label).
          labels: { "app.kubernetes.io/part-of": "gitops-platform", "reconcile.fluxcd.io/watch": "Enabled" },
        },
        data: {
          ENVIRONMENT: args.environment,
          AWS_REGION: args.aws.region,
          AWS_ACCOUNT_ID: args.aws.accountId,
          STORAGE_BUCKET: args.aws.bucketName,
          ...(args.imageReflectorRole ? { IMAGE_REFLECTOR_ROLE_ARN: args.imageReflectorRole.arn } : {}),
          ...Object.fromEntries(args.apps.map((app) => [repositoryUrlKey(app.name), app.repository.url])),
          ...extraMetadata,
        },
      },
      { parent: this },
    );

    let ecrRead: aws.iam.RolePolicy | undefined;
    if (args.imageReflectorRole !== undefined && automated.length > 0) {
      ecrRead = new aws.iam.RolePolicy(
        `${name}-ecr-read`,
        {
          role: args.imageReflectorRole.name,
          policy: pulumi.all(automated.map((app) => app.repository.arn)).apply((arns) => ecrReadPolicy(arns)),
        },
        { parent: this },
      );
    }

    const instance = new FluxInstance(
      `${name}-flux`,
      {
        namespace: operator.namespace,
        version: settings.flux.version,
        registry: settings.flux.registry,
        imageAutomation: automated.length > 0,
        repo: args.configRepo.repo,
        branch: args.configRepo.branch,
        path: args.configRepo.path,
        pullSecret: args.configRepo.secretName,
        interval: settings.interval,
        substituteFrom: metadata.metadata.name,
        ...(ecrRead && args.imageReflectorRole ? { imageReflectorRoleArn: args.imageReflectorRole.arn } : {}),
        ...(args.appSecretsRoleArn !== undefined ? { kustomizeControllerRoleArn: args.appSecretsRoleArn } : {}),
        dropNetworkPolicies: REPLACED_FLUX_POLICIES,
      },
      // The role annotation waits for the permissions it stands for.
      { parent: this, ...(ecrRead ? { dependsOn: [ecrRead] } : {}) },
    );
    this.syncName = instance.syncName;
    this.fluxNamespace = instance.namespace;
    this.components = instance.components;

    new FluxNetworkPolicies(
      `${name}-network-policies`,
      {
        namespace: args.namespace,
        metricsNamespace: settings.metricsNamespace,
        ...(settings.webhook ? { receiverPorts: [RECEIVER_PORT, RECEIVER_HEALTH_PORT] } : {}),
      },
      { parent: this },
    );

    // Flux's CRDs exist once the instance is Ready: every Flux object takes its namespace from the
    // instance, and so waits for it.
    const fluxNamespace = instance.namespace;
    const sources = args.apps.map(
      (app) =>
        new AppSource(
          `${name}-app-${app.name}`,
          {
            namespace: fluxNamespace,
            app: app.name,
            repo: app.repo,
            branch: app.branch,
            path: app.path,
            interval: app.interval,
            secretName: app.secretName,
            substituteFrom: metadata.metadata.name,
            imageRepository: app.repository.url,
            syncKustomization: instance.syncName,
            decryption: args.appSecretsRoleArn !== undefined,
          },
          { parent: this },
        ),
    );

    const pushBranches: Record<string, string> = {};
    for (const app of automated) {
      const automation = app.imageAutomation;
      if (automation === undefined) continue;
      const component = new ImageAutomation(
        `${name}-image-${app.name}`,
        {
          namespace: fluxNamespace,
          app: app.name,
          repositoryUrl: app.repository.url,
          policy: automation.policy,
          interval: automation.interval,
          sourceName: instance.syncName,
          checkoutBranch: args.configRepo.branch,
          pushBranch: automation.pushBranch,
          updatePath: IMAGE_TAGS_PATH,
          author: settings.commitAuthor,
        },
        { parent: this },
      );
      pushBranches[app.name] = component.pushBranch;
    }
    this.pushBranches = pushBranches;

    if (settings.webhook !== undefined && args.webhookExposure !== undefined) {
      const receiver = new WebhookReceiver(
        `${name}-webhook`,
        {
          namespace: fluxNamespace,
          gitRepositories: [instance.syncName, ...sources.map((source) => source.gitRepository.metadata.name)],
          repositories: [args.configRepo.repo, ...args.apps.map((app) => app.repo)],
          host: settings.webhook.host,
          certificateArn: settings.webhook.certificateArn,
          ingressClassName: settings.webhook.ingressClassName,
          sslPolicy: settings.webhook.sslPolicy,
          securityGroupIds: args.webhookExposure.securityGroupIds,
          ...(args.webhookExposure.wafAclArn !== undefined ? { wafAclArn: args.webhookExposure.wafAclArn } : {}),
        },
        { parent: this },
      );
      this.webhookUrl = receiver.webhookUrl;
      this.webhookLoadBalancer = receiver.loadBalancerHostname;
    }

    this.registerOutputs({
      syncName: this.syncName,
      components: this.components,
      pushBranches: this.pushBranches,
      webhookUrl: this.webhookUrl,
      webhookLoadBalancer: this.webhookLoadBalancer,
    });
  }
}
