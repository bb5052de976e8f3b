/**
 * FluxInstance: the Flux Operator's `FluxInstance` (fluxcd.controlplane.io/v1). The operator
 * installs Flux at the pinned version from it and creates the cluster sync: a GitRepository and a
 * Kustomization named {@link FluxInstanceArgs.syncName} that apply the environment branch's path.
 *
 * `dependsOn` given to this component applies to the FluxInstance object itself.
 *
 * Multi-tenancy lockdown through `cluster.multitenant: true`. At flux-operator v0.58.1
 * (`internal/builder/profiles.go`, `profileClusterMultitenant`) that patches the Flux controllers
 * with `--no-cross-namespace-refs=true` (kustomize, helm, notification, image reflector and
 * automation, source-watcher), `--no-remote-bases=true` (kustomize-controller) and
 * `--default-service-account=default` (kustomize and helm controllers: a Kustomization that names
 * no ServiceAccount runs as its namespace's `default`, which holds nothing), and gives the sync
 * Kustomization `serviceAccountName: kustomize-controller`, so only the environment sync keeps
 * Flux's own rights. App Kustomizations run as their own ServiceAccounts (see AppSource).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { dump } from "js-yaml";
import { GITHUB_SSH_HOST } from "../../policies/vocabulary";
import { EXACT_VERSION } from "../names";

/** Type token of {@link FluxInstance}. */
export const FLUX_INSTANCE_TYPE = "gitops-platform:k8s:FluxInstance";

/** The operator reconciles only a FluxInstance of this name, in its own namespace. */
export const FLUX_INSTANCE_NAME = "flux";

/** Flux's default controllers. */
export const CORE_COMPONENTS = ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"] as const;
/** The controllers image automation needs on top. */
export const IMAGE_COMPONENTS = ["image-reflector-controller", "image-automation-controller"] as const;

/**
 * How soon kustomize-controller re-checks a Kustomization whose `dependsOn` was not Ready (its flag
 * `--requeue-dependency`, 30s by default: kustomize-controller v1.7.2 main.go). Every app
 * Kustomization depends on the environment sync, and a tag bump reaches the app exactly while the
 * sync applies it (the watched `<app>-image` ConfigMap changes mid-sync), so at the default each
 * new image waited 30 s more; the e2e measured it (scenario 3a).
 */
export const REQUEUE_DEPENDENCY = "5s";

/** One kustomize patch of a FluxInstance. */
export interface InstancePatch {
  readonly patch: pulumi.Input<string>;
  readonly target: { readonly kind: string; readonly name?: string };
}

export interface FluxInstanceArgs {
  /** Namespace of the operator (the FluxOperator's namespace output, so the instance waits for it). */
  readonly namespace: pulumi.Input<string>;
  /** Flux version, exact (`2.7.3`): staging runs what prod runs. */
  readonly version: string;
  /** Registry of the Flux images, e.g. `ghcr.io/fluxcd`. */
  readonly registry: string;
  /** Install the image reflector and automation controllers. */
  readonly imageAutomation: boolean;
  /** The config repository, `owner/name`, synced over SSH. */
  readonly repo: string;
  /** The environment branch. */
  readonly branch: string;
  /** Path applied, relative to the repository root. */
  readonly path: string;
  /** Secret with the config repository's deploy key (its name output, so the sync waits for it). */
  readonly pullSecret: pulumi.Input<string>;
  /** Fetch interval of the sync source. */
  readonly interval: string;
  /** Name of the sync GitRepository and Kustomization. @default flux-system */
  readonly syncName?: string;
  /** ConfigMap whose keys the sync Kustomization substitutes (postBuild). @default none */
  readonly substituteFrom?: pulumi.Input<string>;
  /** IAM role for image-reflector-controller's ServiceAccount (IRSA). @default none */
  readonly imageReflectorRoleArn?: pulumi.Input<string>;
  /** IAM role for kustomize-controller's ServiceAccount (IRSA), to decrypt SOPS files with AWS KMS. @default none */
  readonly kustomizeControllerRoleArn?: pulumi.Input<string>;
  /** NetworkPolicies of Flux's own set that are dropped because others replace them. @default none */
  readonly dropNetworkPolicies?: readonly string[];
  /** Seconds `pulumi up` waits for the instance to become Ready. @default 900 */
  readonly readyTimeoutSeconds?: number;
}

/** Pod template annotation carrying a controller's IRSA role: a new role rolls the controller's pods. */
export const IRSA_ROLLOUT_ANNOTATION = "gitops-platform/irsa-role-arn";

export class FluxInstance extends pulumi.ComponentResource {
  /** The FluxInstance object. */
  public readonly instance: k8s.apiextensions.CustomResource;
  /** Name of the GitRepository the operator creates for the sync. */
  public readonly syncName: string;
  /** Controllers installed. */
  public readonly components: readonly string[];
  /**
   * The namespace, read back from the FluxInstance: objects placed with it wait until the instance
   * is Ready, i.e. until Flux and its CRDs are installed.
   */
  public readonly namespace: pulumi.Output<string>;

  constructor(name: string, args: FluxInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
    super(FLUX_INSTANCE_TYPE, name, {}, opts);
    const syncName = args.syncName ?? DEFAULT_SYNC_NAME;
    const dropNetworkPolicies = args.dropNetworkPolicies ?? [];
    const readyTimeoutSeconds = args.readyTimeoutSeconds ?? 900;
    this.syncName = syncName;
    this.components = [...CORE_COMPONENTS, ...(args.imageAutomation ? IMAGE_COMPONENTS : [])];

    if (!EXACT_VERSION.test(args.version)) {
      throw new Error(`${FLUX_INSTANCE_TYPE} ${name}: version ${JSON.stringify(args.version)} is not exact; pin a release such as 2.7.3`);
    }
    const patches: InstancePatch[] = [
      {
        patch: dump([{ op: "add", path: "/spec/template/spec/containers/0/args/-", value: `--requeue-dependency=${REQUEUE_DEPENDENCY}` }]),
        target: { kind: "Deployment", name: "kustomize-controller" },
      },
    ];
    if (args.substituteFrom !== undefined) {
      // The sync Kustomization is the only Kustomization the operator generates.
      patches.push({
        patch: pulumi
          .output(args.substituteFrom)
          .apply((configMap) => dump([{ op: "add", path: "/spec/postBuild", value: { substituteFrom: [{ kind: "ConfigMap", name: configMap }] } }])),
        target: { kind: "Kustomization", name: syncName },
      });
    }
    // IRSA: the ServiceAccount's role annotation, and the same ARN on the controller's pod
    // template. EKS's pod identity webhook injects credentials only into pods created after the
    // annotation (aws/amazon-eks-pod-identity-webhook README: "All new pods launched using this
    // Service Account"), and the operator's apply of a changed ServiceAccount restarts nothing; a
    // changed pod template rolls the Deployment, so a new or changed role takes effect at once.
    const irsa = (controller: string, roleArn: pulumi.Input<string>) => {
      patches.push({
        patch: pulumi.output(roleArn).apply((arn) => dump({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: controller, annotations: { "eks.amazonaws.com/role-arn": arn } } })),
        target: { kind: "ServiceAccount", name: controller },
      });
      patches.push({
        patch: pulumi
          .output(roleArn)
          .apply((arn) => dump({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: controller }, spec: { template: { metadata: { annotations: { [IRSA_ROLLOUT_ANNOTATION]: arn } } } } })),
        target: { kind: "Deployment", name: controller },
      });
    };
    if (args.imageReflectorRoleArn !== undefined) irsa("image-reflector-controller", args.imageReflectorRoleArn);
    // Without spec.decryption.serviceAccountName (and the ObjectLevelWorkloadIdentity feature
    // gate) kustomize-controller authenticates to KMS as itself (kustomize-controller v1.7.2
    // internal/decryptor/decryptor.go SetAuthOptions).
    if (args.kustomizeControllerRoleArn !== undefined) irsa("kustomize-controller", args.kustomizeControllerRoleArn);
    for (const policy of dropNetworkPolicies) {
      patches.push({
        patch: dump({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: policy }, $patch: "delete" }),
        target: { kind: "NetworkPolicy", name: policy },
      });
    }

    this.instance = new k8s.apiextensions.CustomResource(
      `${name}-instance`,
      {
        apiVersion: "fluxcd.controlplane.io/v1",
        kind: "FluxInstance",
        metadata: {
          name: FLUX_INSTANCE_NAME,
          namespace: args.namespace,
          annotations: {
            // Flux's own CRDs only exist once the operator has installed Flux: wait for it.
            "pulumi.com/waitFor": "condition=Ready",
            "pulumi.com/timeoutSeconds": String(readyTimeoutSeconds),
          },
        },
        spec: {
          distribution: { version: args.version, registry: args.registry },
          components: [...this.components],
          cluster: { type: "aws", networkPolicy: true, multitenant: true },
          sync: {
            kind: "GitRepository",
            name: syncName,
            url: githubSshUrl(args.repo),
            ref: `refs/heads/${args.branch}`,
            path: args.path,
            pullSecret: args.pullSecret,
            interval: args.interval,
          },
          kustomize: { patches },
        },
      },
      { parent: this, ...(opts?.dependsOn !== undefined ? { dependsOn: opts.dependsOn } : {}) },
    );

    this.namespace = this.instance.metadata.namespace;

    this.registerOutputs({ syncName: this.syncName, namespace: this.namespace });
  }
}

/** The name of the cluster sync's GitRepository and Kustomization unless told otherwise: Flux's own (`flux bootstrap`'s). */
export const DEFAULT_SYNC_NAME = "flux-system";

/** The SSH clone URL Flux uses for a GitHub repository `owner/name`. */
export function githubSshUrl(repo: string): string {
  return `ssh://git@${GITHUB_SSH_HOST}/${repo}.git`;
}
