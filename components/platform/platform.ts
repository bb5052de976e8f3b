/**
 * Platform: everything one environment needs around its existing EKS cluster. The only thing
 * index.ts builds.
 */
import * as aws from "@pulumi/aws";
import type * as github from "@pulumi/github";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AppSecrets } from "../aws/app-secrets";
import { CiIdentity, DRIFT_READER_GROUP } from "../aws/ci-identity";
import type { PlatformConfig } from "../config";
import { DeployKey } from "../github/deploy-key";
import { createGithubProvider } from "../github/github-provider";
import { GithubWiring } from "../github/github-wiring";
import { Firewall } from "../aws/firewall";
import { FluxNamespace } from "../k8s/flux-namespace";
import { ImageReflectorRole } from "../aws/image-reflector-role";
import { ALERT_SECRET, GITHUB_APP_SECRET, Notifications } from "../k8s/notifications";
import { clusterKubeconfig, partitionOf, repositoryName } from "./cluster";
import { notificationsArgs, reconcilerApp, reconcilerArgs, type AppWiring } from "./wiring";
import { Reconciler } from "../k8s/reconciler";
import { Registry } from "../aws/registry";
import { Storage } from "../aws/storage";
import { DriftReader } from "../k8s/drift-reader";
import { RECEIVER_HEALTH_PORT, RECEIVER_PATH_PREFIX, RECEIVER_PORT, receiverTokenSecretName } from "../k8s/webhook-receiver";

/** Type token of {@link Platform}. */
export const PLATFORM_TYPE = "gitops-platform:platform:Platform";

export interface PlatformArgs {
  /** The validated stack config (components/config/). */
  readonly config: PlatformConfig;
}

/** A per-app value the platform itself declared; a missing one is a bug, never a silent "". */
function perApp<T>(values: Readonly<Record<string, T>>, app: string, what: string): T {
  const value = values[app];
  if (value === undefined) throw new Error(`${PLATFORM_TYPE}: no ${what} was declared for app ${JSON.stringify(app)}`);
  return value;
}

export class Platform extends pulumi.ComponentResource {
  /** The explicit AWS provider every AWS resource of the platform uses. */
  public readonly awsProvider: aws.Provider;
  /** The Kubernetes provider for the cluster, built from its endpoint and CA. */
  public readonly k8sProvider: k8s.Provider;
  /** The cluster's VPC. */
  public readonly vpcId: pulumi.Output<string>;
  /** The cluster's OIDC issuer URL (for IRSA roles). */
  public readonly clusterOidcIssuer: pulumi.Output<string>;
  /** The kubeconfig the Kubernetes provider uses (secret). */
  public readonly kubeconfig: pulumi.Output<string>;
  /** The entry point's firewall. */
  public readonly firewall: Firewall;
  /** The environment's bucket and its key. */
  public readonly storage: Storage;
  /** The GitHub OIDC provider and the roles of CI, preview and deploy. */
  public readonly ciIdentity: CiIdentity;
  /** Per application name, its ECR repository. */
  public readonly registries: Record<string, Registry>;
  /**
   * Per application name, its ECR repository's ARN. Known before any resource exists (the names
   * are fixed), so roles that reference repositories can be declared before the repositories.
   */
  public readonly repositoryArns: Record<string, string>;
  /** Per application name, its ECR repository's URL. */
  public readonly repositoryUrls: Record<string, pulumi.Output<string>>;
  /** Per application name, the role its CI assumes to push images. */
  public readonly ciRoleArns: Record<string, pulumi.Output<string>>;
  /** The role `pulumi preview` assumes on pull requests. */
  public readonly previewRoleArn: pulumi.Output<string>;
  /** The role `pulumi up` assumes for this environment. */
  public readonly deployRoleArn: pulumi.Output<string>;
  /** The role the scheduled drift check assumes, when `ci.defaultBranch` is set. */
  public readonly driftRoleArn: pulumi.Output<string> | undefined;
  /** The drift role's Kubernetes read access, when there is a drift role. */
  public readonly driftReader: DriftReader | undefined;
  /** The entry point's security group. */
  public readonly securityGroupId: pulumi.Output<string>;
  /** The WAFv2 web ACL's ARN, when the WAF is enabled. */
  public readonly webAclArn: pulumi.Output<string> | undefined;
  /** The bucket's name. */
  public readonly bucketName: pulumi.Output<string>;
  /** The bucket key's ARN. */
  public readonly storageKeyArn: pulumi.Output<string>;
  /** The namespace of the Flux Operator and Flux (restricted pod security); deploy-key Secrets live in it. */
  public readonly fluxNamespace: FluxNamespace;
  /** The image reflector's IRSA role, when an app uses image automation. */
  public readonly imageReflectorRole: ImageReflectorRole | undefined;
  /** The app secrets' SOPS key and kustomize-controller's decryption role, when there are apps. */
  public readonly appSecrets: AppSecrets | undefined;

  /** The GitHub provider (owner and token from config) every GitHub resource uses. */
  public readonly githubProvider: github.Provider;
  /** The reconciler's key to the config repo. */
  public readonly configRepoKey: DeployKey;
  /** Per application name, the reconciler's key to its repository. */
  public readonly appKeys: Record<string, DeployKey>;
  /** Every app with its config and what the platform declared for it, in config order. */
  public readonly apps: readonly AppWiring[];
  /** The environment branch's ruleset and the app repositories' CI variables. */
  public readonly githubWiring: GithubWiring;
  /** The in-cluster reconciler (Flux Operator, FluxInstance, sources, automation, webhook). */
  public readonly reconciler: Reconciler;
  /** Commit statuses and alerts from the reconciler, when `notifications` is configured. */
  public readonly notifications: Notifications | undefined;
  /** The GitHub webhook URL of the receiver (secret: its path derives from the token), when configured. */
  public readonly webhookUrl: pulumi.Output<string> | undefined;
  /** The receiver's load balancer host name, for the webhook host's DNS record, when configured. */
  public readonly webhookLoadBalancer: pulumi.Output<string> | undefined;
  /** Per repository (`owner/name`), its deploy key as GitHub shows it; no key material. */
  public readonly deployKeys: Record<string, { title: string; readOnly: boolean; id: pulumi.Output<string>; secretName: pulumi.Output<string> }>;

  constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super(PLATFORM_TYPE, name, {}, opts);
    const config = args.config;

    this.awsProvider = new aws.Provider(
      `${name}-aws`,
      {
        region: config.region as aws.Region,
        allowedAccountIds: [config.aws.accountId],
        defaultTags: { tags: config.aws.tags },
      },
      { parent: this },
    );

    const cluster = aws.eks.getClusterOutput({ name: config.aws.clusterName }, { provider: this.awsProvider, parent: this });
    this.vpcId = cluster.vpcConfig.vpcId;
    this.clusterOidcIssuer = cluster.identities.apply((ids) => ids[0]?.oidcs[0]?.issuer ?? "");

    this.kubeconfig = pulumi.secret(
      pulumi
        .all([cluster.endpoint, cluster.certificateAuthorities])
        .apply(([endpoint, cas]) => clusterKubeconfig(config.aws.clusterName, config.region, endpoint, cas[0]?.data ?? "")),
    );
    // Secrets mutable in place: without it the provider replaces a Secret whose data changes, and
    // a same-named replacement deletes first (pulumi-kubernetes provider diff), so rotating a deploy
    // key or the commit-status App key would leave Flux without its Secret for a moment.
    this.k8sProvider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.kubeconfig, enableSecretMutable: true }, { parent: this });

    const partition = partitionOf(config.region);
    const onAws = { parent: this, providers: [this.awsProvider] };

    // The receiver's pods sit on the nodes' ENIs (VPC CNI), which carry the EKS cluster security group.
    const receiver = config.reconciler.webhook
      ? { pathPrefix: RECEIVER_PATH_PREFIX, ports: [RECEIVER_PORT, RECEIVER_HEALTH_PORT], targetSecurityGroupId: cluster.vpcConfig.clusterSecurityGroupId }
      : undefined;
    this.firewall = new Firewall(`${name}-firewall`, { vpcId: this.vpcId, rules: config.firewall, ...(receiver ? { receiver } : {}) }, onAws);
    this.storage = new Storage(`${name}-storage`, { ...config.storage, partition }, onAws);

    // Each app's wiring is built once and handed down: first what its config fixes (the repository's
    // name and ARN, so roles can name the repository before it exists), then its AWS resources, then
    // its deploy key with the GitHub resources below.
    const named = config.apps.map((app) => {
      const repository = repositoryName(config.environment, app.name);
      return { app, repository: { name: repository, arn: `arn:${partition}:ecr:${config.region}:${config.aws.accountId}:repository/${repository}` } };
    });
    this.repositoryArns = Object.fromEntries(named.map(({ app, repository }) => [app.name, repository.arn]));
    this.ciIdentity = new CiIdentity(
      `${name}-ci`,
      {
        accountId: config.aws.accountId,
        region: config.region,
        partition,
        environment: config.environment,
        configRepo: config.github.configRepo.repo,
        apps: named.map(({ app, repository }) => ({ name: app.name, repo: app.repo, repositoryArn: repository.arn })),
        stateBucket: config.ci.stateBucket,
        secretsKeyArn: config.ci.secretsKeyArn,
        createOidcProvider: config.ci.createOidcProvider,
        clusterName: config.aws.clusterName,
        defaultBranch: config.ci.defaultBranch,
        managedBucketArns: [this.storage.bucketArn],
      },
      onAws,
    );

    // The image reflector's IRSA role is the repositories' only puller, so it comes first; its ECR
    // read permissions are attached by the Reconciler once the repositories exist.
    const automated = config.apps.some((app) => app.imageAutomation !== undefined);
    this.imageReflectorRole = automated
      ? new ImageReflectorRole(
          `${name}-image-reflector`,
          { oidcIssuerUrl: this.clusterOidcIssuer, accountId: config.aws.accountId, partition, namespace: config.reconciler.namespace },
          onAws,
        )
      : undefined;
    const imageReflectorRoleArn = this.imageReflectorRole?.arn;

    const awsWiring = named.map(({ app, repository }) => {
      const ciRoleArn = perApp(this.ciIdentity.appRoleArns, app.name, "CI role");
      const registry = new Registry(
        `${name}-registry-${app.name}`,
        {
          repositoryName: repository.name,
          pushRoleArn: ciRoleArn,
          pullRoleArn: imageReflectorRoleArn,
          keepLastImages: config.registry.keepLastImages,
          untaggedExpiryDays: config.registry.untaggedExpiryDays,
        },
        onAws,
      );
      return { app, ciRoleArn, registry, repository: { ...repository, url: registry.repositoryUrl } };
    });
    this.registries = Object.fromEntries(awsWiring.map((wiring) => [wiring.app.name, wiring.registry]));

    // App secrets: one SOPS key per environment, decrypted only by kustomize-controller.
    const secrets = config.appSecrets;
    this.appSecrets =
      config.apps.length > 0
        ? new AppSecrets(
            `${name}-app-secrets`,
            {
              environment: config.environment,
              oidcIssuerUrl: this.clusterOidcIssuer,
              accountId: config.aws.accountId,
              partition,
              namespace: config.reconciler.namespace,
              roleName: `${config.environment}-flux-sops-decrypt`.slice(0, 64),
              encrypters: [...(secrets.ciRolesEncrypt ? Object.values(this.ciIdentity.appRoleArns) : []), ...secrets.encrypters],
              administrators: [this.ciIdentity.deployRoleArn, ...secrets.administrators],
              // The drift check refreshes the key too; the key policy is the only grant KMS honours here.
              readers: [this.ciIdentity.previewRoleArn, ...(this.ciIdentity.driftRoleArn ? [this.ciIdentity.driftRoleArn] : [])],
              deletionWindowInDays: secrets.deletionWindowDays,
              protect: config.production,
            },
            onAws,
          )
        : undefined;

    this.fluxNamespace = new FluxNamespace(`${name}-flux-namespace`, { name: config.reconciler.namespace }, { parent: this, providers: [this.k8sProvider] });

    // GitHub: one deploy key per repository (the Secrets go to the reconciler's namespace), the
    // environment branch's ruleset, and the CI variables of each app repository.
    this.githubProvider = createGithubProvider(`${name}-github`, { owner: config.github.owner }, { parent: this });
    const keyArgs = {
      environment: config.environment,
      // The namespace's output, not the plain name: the Secrets wait for the namespace to exist.
      namespace: this.fluxNamespace.name,
      knownHosts: config.github.knownHosts,
      githubProvider: this.githubProvider,
      k8sProvider: this.k8sProvider,
    };
    const configKey = config.github.configRepo.deployKey;
    this.configRepoKey = new DeployKey(
      `${name}-config-repo`,
      { ...keyArgs, repository: config.github.configRepo.repo, purpose: "config", secretName: "flux-system", ...configKey },
      { parent: this },
    );
    this.apps = awsWiring.map((wiring) => {
      const app = wiring.app;
      const deployKey = new DeployKey(
        `${name}-app-${app.name}`,
        { ...keyArgs, repository: app.repo, purpose: `app ${app.name}`, secretName: `${app.name}-deploy-key`, ...app.deployKey },
        { parent: this },
      );
      return { ...wiring, deployKey };
    });
    this.appKeys = Object.fromEntries(this.apps.map((wiring) => [wiring.app.name, wiring.deployKey]));
    this.deployKeys = Object.fromEntries(
      [this.configRepoKey, ...this.apps.map((wiring) => wiring.deployKey)].map((key) => [
        key.repository,
        { title: key.title, readOnly: key.readOnly, id: key.deployKeyId, secretName: key.secretName },
      ]),
    );
    const branch = config.github.configRepo.branch;
    this.githubWiring = new GithubWiring(
      `${name}-github`,
      {
        environment: config.environment,
        configRepo: config.github.configRepo.repo,
        branch,
        protectBranch: config.github.branchProtection.enabled,
        requiredReviews: config.github.branchProtection.requiredReviews,
        requiredChecks: config.github.branchProtection.requiredChecks,
        actionsSettings: config.github.configRepo.actionsSettings,
        awsRegion: config.region,
        apps: this.apps.map((wiring) => ({
          name: wiring.app.name,
          repository: wiring.app.repo,
          ciRoleArn: wiring.ciRoleArn,
          ecrRepositoryUrl: wiring.repository.url,
        })),
        githubProvider: this.githubProvider,
      },
      { parent: this },
    );

    // The in-cluster reconciler: the Flux Operator, a FluxInstance syncing the environment branch
    // with the config repo's key, each app's source, image automation and the webhook receiver.
    this.reconciler = new Reconciler(
      `${name}-reconciler`,
      reconcilerArgs(config, {
        namespace: this.fluxNamespace.name,
        configRepoSecretName: this.configRepoKey.secretName,
        apps: this.apps.map((wiring) => reconcilerApp(wiring.app, wiring.deployKey.secretName, wiring.repository)),
        bucketName: this.storage.bucketName,
        ...(this.appSecrets ? { appSecretsRoleArn: this.appSecrets.roleArn } : {}),
        ...(this.imageReflectorRole ? { imageReflectorRole: { arn: this.imageReflectorRole.arn, name: this.imageReflectorRole.roleName } } : {}),
        ...(config.reconciler.webhook
          ? {
              webhookExposure: {
                securityGroupIds: [this.firewall.securityGroupId],
                ...(this.firewall.webAclArn ? { wafAclArn: this.firewall.webAclArn } : {}),
              },
            }
          : {}),
      }),
      { parent: this, providers: [this.k8sProvider, this.awsProvider, this.githubProvider] },
    );
    // What the reconciler tells people: a commit status per Kustomization, and optional alerts.
    const notifying = notificationsArgs(config, this.reconciler);
    this.notifications = notifying
      ? new Notifications(`${name}-notifications`, notifying, { parent: this, providers: [this.k8sProvider] })
      : undefined;
    this.webhookUrl = this.reconciler.webhookUrl;

    // The drift role reads exactly the Kubernetes objects the stack manages, Secrets by name.
    this.driftReader =
      this.ciIdentity.driftRoleArn !== undefined
        ? new DriftReader(
            `${name}-drift-reader`,
            {
              group: DRIFT_READER_GROUP,
              namespace: this.fluxNamespace.name,
              secretNames: [
                this.configRepoKey.secretName,
                ...this.apps.map((wiring) => wiring.deployKey.secretName),
                ...(config.reconciler.webhook ? [receiverTokenSecretName()] : []),
                ...(notifying ? [GITHUB_APP_SECRET, ...(notifying.alerts !== undefined ? [ALERT_SECRET] : [])] : []),
              ],
            },
            { parent: this, providers: [this.k8sProvider] },
          )
        : undefined;
    this.webhookLoadBalancer = this.reconciler.webhookLoadBalancer;

    this.repositoryUrls = Object.fromEntries(Object.entries(this.registries).map(([app, registry]) => [app, registry.repositoryUrl]));
    this.ciRoleArns = this.ciIdentity.appRoleArns;
    this.previewRoleArn = this.ciIdentity.previewRoleArn;
    this.deployRoleArn = this.ciIdentity.deployRoleArn;
    this.driftRoleArn = this.ciIdentity.driftRoleArn;
    this.securityGroupId = this.firewall.securityGroupId;
    this.webAclArn = this.firewall.webAclArn;
    this.bucketName = this.storage.bucketName;
    this.storageKeyArn = this.storage.kmsKeyArn;

    this.registerOutputs({
      vpcId: this.vpcId,
      clusterOidcIssuer: this.clusterOidcIssuer,
      kubeconfig: this.kubeconfig,
      repositoryUrls: this.repositoryUrls,
      ciRoleArns: this.ciRoleArns,
      previewRoleArn: this.previewRoleArn,
      deployRoleArn: this.deployRoleArn,
      driftRoleArn: this.driftRoleArn,
      securityGroupId: this.securityGroupId,
      webAclArn: this.webAclArn,
      bucketName: this.bucketName,
      storageKeyArn: this.storageKeyArn,
      deployKeys: this.deployKeys,
      webhookUrl: this.webhookUrl,
      webhookLoadBalancer: this.webhookLoadBalancer,
      appSecretsKeyArn: this.appSecrets?.keyArn,
    });
  }
}
