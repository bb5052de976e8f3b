/**
 * AppSecrets: what Flux's SOPS decryption needs on AWS for one environment — a KMS key that only
 * kustomize-controller can decrypt with, and the IRSA role that controller assumes.
 *
 * The key policy is the whole access story (it does not delegate to the account, so no IAM policy
 * anywhere can widen it), short of an administrator rewriting it:
 * - Decrypt: exactly the kustomize-controller's IRSA role;
 * - Encrypt: the app teams' CI roles and named principals — `sops --encrypt` wraps its data key with
 *   `kms:Encrypt` only (getsops/sops v3.11.0 kms/keysource.go), so they can write secrets but never
 *   read them back;
 * - administration (no Decrypt, no CreateGrant, no ReEncrypt, no UpdateAlias): the roles that run
 *   `pulumi up`. They hold kms:PutKeyPolicy (the program manages the policy, and KMS refuses a
 *   policy that locks its creator out), so they could rewrite the policy to decrypt: the pack
 *   refuses that in any preview or `up`, but a direct API call is only visible in CloudTrail and as
 *   drift;
 * - reading the key's metadata: the preview role, so previews and drift checks can refresh it.
 *
 * The key is reached through a fixed alias (`alias/gitops-platform/<env>/app-secrets`), which is
 * what `.sops.yaml` names: known from config alone, before the key exists.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { irsaTrustPolicy } from "./image-reflector-role";
import { SOPS_KEY_TAG } from "../../policies/vocabulary";
import { DEFAULT_PARTITION } from "./partition";

/** Type token of {@link AppSecrets}. */
export const APP_SECRETS_TYPE = "gitops-platform:aws:AppSecrets";

/** The ServiceAccount of Flux's kustomize-controller, which decrypts SOPS files. */
export const KUSTOMIZE_CONTROLLER_SERVICE_ACCOUNT = "kustomize-controller";

/** What a key administrator may do: manage the key's lifecycle, never use it or hand it out. */
export const KEY_ADMIN_ACTIONS = [
  "kms:DescribeKey",
  "kms:GetKeyPolicy",
  "kms:PutKeyPolicy",
  "kms:ListKeyPolicies",
  "kms:GetKeyRotationStatus",
  "kms:EnableKeyRotation",
  "kms:DisableKeyRotation",
  "kms:ListKeyRotations",
  "kms:RotateKeyOnDemand",
  "kms:ListResourceTags",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:UpdateKeyDescription",
  "kms:EnableKey",
  "kms:DisableKey",
  "kms:ScheduleKeyDeletion",
  "kms:CancelKeyDeletion",
  "kms:CreateAlias",
  // No kms:UpdateAlias: re-pointing the alias needs it on the key it leaves (AWS KMS UpdateAlias,
  // "Required permissions"), so nobody can silently move .sops.yaml's alias to a key they can
  // decrypt. Replacing the key deletes and recreates the alias instead (visible in the plan).
  "kms:DeleteAlias",
  "kms:ListGrants",
  "kms:RevokeGrant",
] as const;

/** What the preview role reads to refresh the key (the provider's Read). */
export const KEY_READ_ACTIONS = ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"] as const;

/** The alias of an environment's SOPS key. */
export function appSecretsAlias(environment: string): string {
  return `alias/gitops-platform/${environment}/app-secrets`;
}

/** The ARN of an environment's SOPS key alias: what `.sops.yaml` and `sops --kms` name. */
export function appSecretsAliasArn(partition: string, region: string, accountId: string, environment: string): string {
  return `arn:${partition}:kms:${region}:${accountId}:${appSecretsAlias(environment)}`;
}

/** Who may do what with the key. */
export interface KeyPolicyPrincipals {
  /** The kustomize-controller's IRSA role: the only decrypter. */
  readonly decrypter: string;
  /** Principals that may encrypt. */
  readonly encrypters: readonly string[];
  /** Principals that administer the key. */
  readonly administrators: readonly string[];
  /** Principals that may read the key's metadata. */
  readonly readers: readonly string[];
}

const unique = (arns: readonly string[]) => [...new Set(arns)];

/** The key policy: one statement per kind of access; a principal list is never empty. */
export function appSecretsKeyPolicy(principals: KeyPolicyPrincipals): string {
  const statement = (sid: string, arns: readonly string[], actions: string | readonly string[]) =>
    arns.length === 0 ? [] : [{ Sid: sid, Effect: "Allow", Principal: { AWS: unique(arns) }, Action: actions, Resource: "*" }];
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      ...statement("KeyAdministration", principals.administrators, [...KEY_ADMIN_ACTIONS]),
      ...statement("ReadKeyMetadata", principals.readers, [...KEY_READ_ACTIONS]),
      ...statement("DecryptByKustomizeController", [principals.decrypter], "kms:Decrypt"),
      ...statement("EncryptByAppTeams", principals.encrypters, "kms:Encrypt"),
    ],
  });
}

/** Defaults of the optional {@link AppSecretsArgs}; the stack contract's `appSecrets` section defaults to them too. */
export const APP_SECRETS_DEFAULTS = { deletionWindowInDays: 30 } as const;

export interface AppSecretsArgs {
  /** Environment name: names the alias and describes the key. */
  readonly environment: string;
  /** The cluster's OIDC issuer URL, e.g. `https://oidc.eks.eu-west-1.amazonaws.com/id/ABC`. */
  readonly oidcIssuerUrl: pulumi.Input<string>;
  /** AWS account of the cluster and the key. */
  readonly accountId: string;
  /** Namespace of Flux's controllers. */
  readonly namespace: string;
  /**
   * Name of the decrypting role: fixed, so the key policy naming it is known before the role
   * exists and the policy pack can judge it at preview.
   */
  readonly roleName: string;
  /** Principals that may encrypt: the app teams' CI roles and named people or roles. */
  readonly encrypters: readonly pulumi.Input<string>[];
  /**
   * Principals that administer the key (no Decrypt). Must include whoever runs `pulumi up`: AWS
   * refuses a key policy that locks its creator out.
   */
  readonly administrators: readonly pulumi.Input<string>[];
  /** Principals that may read the key's metadata (the preview role). @default none */
  readonly readers?: readonly pulumi.Input<string>[];
  /** Waiting period, in days (7-30), before a deleted key is gone. @default 30 */
  readonly deletionWindowInDays?: number;
  /** Protect the key from deletion and retain it when it leaves the program. @default false */
  readonly protect?: boolean;
  /** AWS partition of the account. @default {@link DEFAULT_PARTITION} */
  readonly partition?: string;
  /** ServiceAccount allowed to assume the role. @default kustomize-controller */
  readonly serviceAccount?: string;
}

export class AppSecrets extends pulumi.ComponentResource {
  /** The IRSA role kustomize-controller assumes to decrypt. */
  public readonly role: aws.iam.Role;
  /** The SOPS key. */
  public readonly key: aws.kms.Key;
  /** The key's fixed alias. */
  public readonly alias: aws.kms.Alias;
  /** ARN of the decrypting role: the kustomize-controller ServiceAccount's annotation. */
  public readonly roleArn: pulumi.Output<string>;
  /** ARN of the key. */
  public readonly keyArn: pulumi.Output<string>;
  /** Name of the alias (`alias/gitops-platform/<env>/app-secrets`). */
  public readonly aliasName: string;

  constructor(name: string, args: AppSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(APP_SECRETS_TYPE, name, {}, opts);
    const partition = args.partition ?? DEFAULT_PARTITION;
    const serviceAccount = args.serviceAccount ?? KUSTOMIZE_CONTROLLER_SERVICE_ACCOUNT;
    const deletionWindowInDays = args.deletionWindowInDays ?? APP_SECRETS_DEFAULTS.deletionWindowInDays;
    const protect = args.protect ?? false;
    const readers = args.readers ?? [];
    if (args.administrators.length === 0) {
      throw new Error(`${APP_SECRETS_TYPE} ${name}: administrators: expected at least the role that runs \`pulumi up\` (AWS refuses a key policy that locks out its creator)`);
    }

    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        name: args.roleName,
        description: `Flux ${serviceAccount} in ${args.namespace}: decrypts the ${args.environment} app secrets (SOPS, IRSA)`,
        assumeRolePolicy: pulumi
          .output(args.oidcIssuerUrl)
          .apply((issuer) => irsaTrustPolicy(issuer, args.accountId, partition, args.namespace, serviceAccount)),
      },
      { parent: this },
    );
    // From the fixed name, so this principal is known at preview (the CI roles' ARNs are built from
    // fixed names too, components/aws/ci-identity.ts: the whole key policy is, and the pack judges it on
    // a first preview); the output keeps the dependency (KMS refuses a policy naming a role that
    // does not exist yet).
    this.roleArn = pulumi.interpolate`arn:${partition}:iam::${args.accountId}:role/${this.role.name}`;

    // Stateful: a lost key makes every committed secret unreadable.
    const keep = { parent: this, protect, retainOnDelete: protect };
    this.key = new aws.kms.Key(
      `${name}-key`,
      {
        description: `SOPS key of the ${args.environment} app secrets: kustomize-controller decrypts, app teams encrypt`,
        enableKeyRotation: true,
        deletionWindowInDays,
        policy: pulumi
          .all([this.roleArn, pulumi.all([...args.encrypters]), pulumi.all([...args.administrators]), pulumi.all([...readers])])
          .apply(([decrypter, encrypters, administrators, readerArns]) =>
            appSecretsKeyPolicy({ decrypter, encrypters, administrators, readers: readerArns }),
          ),
        tags: { [SOPS_KEY_TAG.key]: SOPS_KEY_TAG.value },
      },
      keep,
    );
    this.aliasName = appSecretsAlias(args.environment);
    // A new key replaces the alias (delete, then create: the name is fixed) rather than updating
    // it, since nobody holds kms:UpdateAlias on the key.
    this.alias = new aws.kms.Alias(
      `${name}-alias`,
      { name: this.aliasName, targetKeyId: this.key.keyId },
      { parent: this, replaceOnChanges: ["targetKeyId"], deleteBeforeReplace: true },
    );
    this.keyArn = this.key.arn;

    this.registerOutputs({ roleArn: this.roleArn, keyArn: this.keyArn, aliasName: this.aliasName });
  }
}
