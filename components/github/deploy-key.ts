/**
 * DeployKey: the SSH access of the in-cluster reconciler to one GitHub repository.
 *
 * Per repository: a fresh key pair (tls), its public half registered as that repository's deploy key,
 * and the Kubernetes Secret in the reconciler's namespace that Flux reads (`identity`, `identity.pub`,
 * `known_hosts`). The private half exists only in Pulumi state (secret) and in that Secret.
 *
 * ## Rotation without a sync gap
 *
 * The key generation is part of the logical names of the key pair and the deploy key
 * (`<name>-key-gen<N>`, `<name>-deploy-key-gen<N>`), never of the Secret (`<name>-secret`, same
 * Kubernetes name). Bumping the generation therefore makes one `pulumi up` do, in this order:
 *
 * 1. create the new key pair (gen N+1);
 * 2. create the new GitHub deploy key from it — both keys are now valid on the repository;
 * 3. update the Secret in place with the new key: the Secret depends on the new deploy key, so it
 *    switches only once GitHub accepts the new key; Flux reads the Secret at every fetch, so fetches
 *    before the switch use the old key and fetches after it the new one — each of them valid;
 * 4. only then, after every create and update, delete the resources the program no longer declares:
 *    the old deploy key first (it depends on the old key pair), then the old key pair (state only).
 *
 * Pulumi runs deletions of undeclared resources after all creates and updates, in reverse dependency
 * order, which is what guarantees 4 comes last; nothing here sets `deleteBeforeReplace`. A fetch that
 * started with the old key just before step 4 may fail once and succeeds at its next interval.
 */
import * as github from "@pulumi/github";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { GITHUB_KNOWN_HOSTS, knownHostsFile, knownHostsLineProblem } from "./known-hosts";
import { githubRepoProblem } from "../names";

/** Type token of {@link DeployKey}. */
export const DEPLOY_KEY_TYPE = "gitops-platform:github:DeployKey";

/** Key algorithms a deploy key may use; RSA is refused. */
export const DEPLOY_KEY_ALGORITHMS = ["ED25519", "ECDSA"] as const;
export type DeployKeyAlgorithm = (typeof DEPLOY_KEY_ALGORITHMS)[number];

/** The curve of an ECDSA deploy key: P-256, the ECDSA curve GitHub itself uses for its host key. */
export const ECDSA_CURVE = "P256";

/** Keys of the Secret, in the layout Flux's GitRepository reads for SSH. */
export const SECRET_KEYS = ["identity", "identity.pub", "known_hosts"] as const;

/** Defaults of the optional {@link DeployKeyArgs}; the stack contract's deploy keys and `github.knownHosts` default to them too. */
export const DEPLOY_KEY_DEFAULTS = { generation: 0, algorithm: "ED25519", readWrite: false, knownHosts: GITHUB_KNOWN_HOSTS } as const;

export interface DeployKeyArgs {
  /** The repository the key opens, `owner/name`; its owner must be the GitHub provider's owner. */
  readonly repository: string;
  /** The environment the key serves; named in the deploy key's title. */
  readonly environment: string;
  /** What the key is for, named in the deploy key's title: `config`, `app orders`. */
  readonly purpose: string;
  /**
   * Key generation: bump it to rotate the key (new key and deploy key first, old ones deleted last).
   * @default 0
   */
  readonly generation?: number;
  /** @default "ED25519" */
  readonly algorithm?: DeployKeyAlgorithm;
  /**
   * Write access, only for a repository the reconciler's image automation commits to.
   * @default false
   */
  readonly readWrite?: boolean;
  /**
   * `known_hosts` lines pinning github.com's host keys; never scanned at first use.
   * @default GITHUB_KNOWN_HOSTS (GitHub's published host keys)
   */
  readonly knownHosts?: readonly string[];
  /** The reconciler's namespace, where the Secret lives. */
  readonly namespace: pulumi.Input<string>;
  /**
   * Name of the Kubernetes Secret the reconciler's Git source refers to. Fixed, so that a rotation
   * updates the same Secret in place.
   */
  readonly secretName: string;
  /** The GitHub provider (owner and token) that manages the deploy key. */
  readonly githubProvider: github.Provider;
  /** The Kubernetes provider of the cluster the reconciler runs in. */
  readonly k8sProvider: k8s.Provider;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export class DeployKey extends pulumi.ComponentResource {
  /** The repository, `owner/name`. */
  public readonly repository: string;
  /** The deploy key's title on GitHub, e.g. `flux staging (config, read-write) gen 0`. */
  public readonly title: string;
  /** True unless the key may push. */
  public readonly readOnly: boolean;
  /** The key generation in use. */
  public readonly generation: number;
  /** GitHub's id of the deploy key. */
  public readonly deployKeyId: pulumi.Output<string>;
  /** The public key, OpenSSH format (not secret). */
  public readonly publicKey: pulumi.Output<string>;
  /** SHA256 fingerprint of the public key, as GitHub shows it. */
  public readonly fingerprint: pulumi.Output<string>;
  /** Name of the Secret, resolved once it exists (feed it to the Git source so that waits for it). */
  public readonly secretName: pulumi.Output<string>;

  constructor(name: string, args: DeployKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    super(DEPLOY_KEY_TYPE, name, {}, opts);
    const generation = args.generation ?? DEPLOY_KEY_DEFAULTS.generation;
    const algorithm = args.algorithm ?? DEPLOY_KEY_DEFAULTS.algorithm;
    const readWrite = args.readWrite ?? DEPLOY_KEY_DEFAULTS.readWrite;
    const knownHosts = args.knownHosts ?? DEPLOY_KEY_DEFAULTS.knownHosts;

    const problems = argProblems(args, generation, algorithm, knownHosts);
    if (problems.length > 0) throw new Error(`DeployKey ${name}: ${problems.join("; ")}`);

    this.repository = args.repository;
    this.readOnly = !readWrite;
    this.generation = generation;
    this.title = `flux ${args.environment} (${args.purpose}, ${readWrite ? "read-write" : "read-only"}) gen ${generation}`;
    const repositoryName = args.repository.split("/")[1] as string;

    // The generation is in the logical names: a bump declares new resources (created first) and
    // drops the old ones (deleted after every create and update); see the file comment.
    const key = new tls.PrivateKey(
      `${name}-key-gen${generation}`,
      algorithm === "ECDSA" ? { algorithm, ecdsaCurve: ECDSA_CURVE } : { algorithm },
      { parent: this, additionalSecretOutputs: ["privateKeyPem", "privateKeyOpenssh", "privateKeyPemPkcs8"] },
    );

    const deployKey = new github.RepositoryDeployKey(
      `${name}-deploy-key-gen${generation}`,
      { repository: repositoryName, title: this.title, key: key.publicKeyOpenssh, readOnly: this.readOnly },
      { parent: this, provider: args.githubProvider },
    );

    // Every value secret, each on its own so a reader still sees the Secret's keys.
    const secret = new k8s.core.v1.Secret(
      `${name}-secret`,
      {
        metadata: {
          name: args.secretName,
          namespace: args.namespace,
          labels: {
            "app.kubernetes.io/managed-by": "pulumi",
            "app.kubernetes.io/part-of": "gitops-platform",
            "app.kubernetes.io/component": "deploy-key",
          },
          annotations: {
            "gitops-platform/repository": args.repository,
            "gitops-platform/key-generation": String(generation),
          },
        },
        type: "Opaque",
        stringData: {
          identity: pulumi.secret(key.privateKeyOpenssh),
          "identity.pub": pulumi.secret(key.publicKeyOpenssh),
          known_hosts: pulumi.secret(knownHostsFile(knownHosts)),
        },
      },
      // Switch the Secret only once GitHub has accepted the new key.
      { parent: this, provider: args.k8sProvider, dependsOn: [deployKey], additionalSecretOutputs: ["data", "stringData"] },
    );

    this.deployKeyId = deployKey.id;
    this.publicKey = key.publicKeyOpenssh;
    this.fingerprint = key.publicKeyFingerprintSha256;
    this.secretName = secret.metadata.name;

    this.registerOutputs({
      repository: this.repository,
      title: this.title,
      readOnly: this.readOnly,
      generation: this.generation,
      deployKeyId: this.deployKeyId,
      publicKey: this.publicKey,
      fingerprint: this.fingerprint,
      secretName: this.secretName,
    });
  }
}

function argProblems(args: DeployKeyArgs, generation: number, algorithm: string, knownHosts: readonly string[]): string[] {
  const problems: string[] = [];
  if (githubRepoProblem(args.repository) !== undefined) problems.push(`repository: expected owner/name, got ${JSON.stringify(args.repository)}`);
  if (!Number.isSafeInteger(generation) || generation < 0) problems.push(`generation: expected a non-negative integer, got ${generation}`);
  if (!(DEPLOY_KEY_ALGORITHMS as readonly string[]).includes(algorithm)) {
    problems.push(`algorithm: expected ${DEPLOY_KEY_ALGORITHMS.join(" or ")} (RSA keys are refused), got ${JSON.stringify(algorithm)}`);
  }
  if (knownHosts.length === 0) problems.push("knownHosts: expected at least one line");
  knownHosts.forEach((line, i) => {
    const problem = knownHostsLineProblem(line);
    if (problem) problems.push(`knownHosts[${i}]: ${problem}`);
  });
  if (args.secretName.length > 253 || !DNS_SUBDOMAIN.test(args.secretName)) {
    problems.push(`secretName: expected a Kubernetes object name, got ${JSON.stringify(args.secretName)}`);
  }
  if (args.environment.trim() === "" || args.purpose.trim() === "") problems.push("environment and purpose: expected non-empty names for the title");
  return problems;
}
