/**
 * Registry: one application's ECR repository — immutable tags, scan on push, KMS encryption, a
 * lifecycle that bounds what it keeps, and a repository policy that names who may push and pull.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Type token of {@link Registry}. */
export const REGISTRY_TYPE = "gitops-platform:aws:Registry";

/** What pushing an image needs, and nothing more. */
export const PUSH_ACTIONS = [
  "ecr:BatchCheckLayerAvailability",
  "ecr:InitiateLayerUpload",
  "ecr:UploadLayerPart",
  "ecr:CompleteLayerUpload",
  "ecr:PutImage",
  "ecr:BatchGetImage",
];

/** What the image reflector needs to list tags and read manifests. */
export const PULL_ACTIONS = [
  "ecr:BatchCheckLayerAvailability",
  "ecr:BatchGetImage",
  "ecr:GetDownloadUrlForLayer",
  "ecr:DescribeImages",
  "ecr:ListImages",
];

/** Defaults of the optional {@link RegistryArgs}; the stack contract's `registry` section defaults to them too. */
export const REGISTRY_DEFAULTS = { keepLastImages: 30, untaggedExpiryDays: 7 } as const;

export interface RegistryArgs {
  /**
   * The repository's name. Fixed rather than auto-named: deploy manifests and the app's CI refer
   * to the repository URL, which must survive a replacement of this program's resources.
   */
  readonly repositoryName: string;
  /** The app's CI role, the only principal the repository policy lets push. */
  readonly pushRoleArn: pulumi.Input<string>;
  /**
   * The reconciler's image-reflector role, the only principal the repository policy lets pull.
   * @default none: no pull statement
   */
  readonly pullRoleArn?: pulumi.Input<string>;
  /**
   * Tagged images kept; older ones expire.
   * @default 30
   */
  readonly keepLastImages?: number;
  /**
   * Days an untagged image is kept.
   * @default 7
   */
  readonly untaggedExpiryDays?: number;
  /**
   * KMS key that encrypts the images.
   * @default the account's AWS-managed key for ECR (aws/ecr)
   */
  readonly kmsKeyArn?: pulumi.Input<string>;
}

/** The ECR lifecycle policy: untagged images expire after some days; only the newest tagged images stay. */
export function lifecyclePolicy(untaggedExpiryDays: number, keepLastImages: number): string {
  return JSON.stringify({
    rules: [
      {
        rulePriority: 1,
        description: `Expire untagged images after ${untaggedExpiryDays} days`,
        selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: untaggedExpiryDays },
        action: { type: "expire" },
      },
      {
        rulePriority: 2,
        description: `Keep the last ${keepLastImages} tagged images`,
        selection: { tagStatus: "tagged", tagPatternList: ["*"], countType: "imageCountMoreThan", countNumber: keepLastImages },
        action: { type: "expire" },
      },
    ],
  });
}

/** The repository policy: push by the CI role, pull by the reconciler's role when there is one. */
export function repositoryPolicy(pushRoleArn: string, pullRoleArn: string | undefined): string {
  const statements: object[] = [{ Sid: "PushByCi", Effect: "Allow", Principal: { AWS: pushRoleArn }, Action: PUSH_ACTIONS }];
  if (pullRoleArn !== undefined) {
    statements.push({ Sid: "PullByReconciler", Effect: "Allow", Principal: { AWS: pullRoleArn }, Action: PULL_ACTIONS });
  }
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

export class Registry extends pulumi.ComponentResource {
  /** The ECR repository. */
  public readonly repository: aws.ecr.Repository;
  /** Its URL (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`), for CI and manifests. */
  public readonly repositoryUrl: pulumi.Output<string>;
  /** Its ARN. */
  public readonly repositoryArn: pulumi.Output<string>;

  constructor(name: string, args: RegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    super(REGISTRY_TYPE, name, {}, opts);
    const keepLastImages = args.keepLastImages ?? REGISTRY_DEFAULTS.keepLastImages;
    const untaggedExpiryDays = args.untaggedExpiryDays ?? REGISTRY_DEFAULTS.untaggedExpiryDays;
    const encryption = args.kmsKeyArn === undefined ? { encryptionType: "KMS" } : { encryptionType: "KMS", kmsKey: args.kmsKeyArn };

    this.repository = new aws.ecr.Repository(
      `${name}-repository`,
      {
        name: args.repositoryName,
        imageTagMutability: "IMMUTABLE",
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfigurations: [encryption],
      },
      { parent: this },
    );
    const repository = this.repository.name;

    new aws.ecr.LifecyclePolicy(
      `${name}-lifecycle`,
      { repository, policy: lifecyclePolicy(untaggedExpiryDays, keepLastImages) },
      { parent: this },
    );
    new aws.ecr.RepositoryPolicy(
      `${name}-policy`,
      {
        repository,
        policy: pulumi.all([args.pushRoleArn, args.pullRoleArn]).apply(([push, pull]) => repositoryPolicy(push, pull)),
      },
      { parent: this },
    );

    this.repositoryUrl = this.repository.repositoryUrl;
    this.repositoryArn = this.repository.arn;
    this.registerOutputs({ repositoryUrl: this.repositoryUrl, repositoryArn: this.repositoryArn });
  }
}
