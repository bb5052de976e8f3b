/**
 * Storage: the environment's S3 bucket, private and TLS-only, encrypted with its own rotating KMS
 * key, versioned, with a lifecycle that bounds what old versions and failed uploads cost.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_PARTITION } from "./partition";

/** Type token of {@link Storage}. */
export const STORAGE_TYPE = "gitops-platform:aws:Storage";

/** Defaults of the optional {@link StorageArgs}; the stack contract's `storage` section defaults to them too. */
export const STORAGE_DEFAULTS = { protect: false, noncurrentVersionExpirationDays: 30, abortIncompleteUploadDays: 7, kmsDeletionWindowDays: 30 } as const;

export interface StorageArgs {
  /**
   * Protect the bucket and its key from deletion, and keep them in AWS when they leave the program.
   * @default false
   */
  readonly protect?: boolean;
  /**
   * Days a noncurrent object version is kept before it expires.
   * @default 30
   */
  readonly noncurrentVersionExpirationDays?: number;
  /**
   * Days after which an incomplete multipart upload is aborted.
   * @default 7
   */
  readonly abortIncompleteUploadDays?: number;
  /**
   * Waiting period, in days (7-30), before a deleted KMS key is gone.
   * @default 30
   */
  readonly kmsDeletionWindowDays?: number;
  /**
   * The AWS partition, for the bucket's ARN.
   * @default {@link DEFAULT_PARTITION}
   */
  readonly partition?: string;
}

/** The bucket policy: deny every request that does not use TLS, on the bucket and its objects. */
export function tlsOnlyPolicy(bucketArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  });
}

export class Storage extends pulumi.ComponentResource {
  /** The customer-managed key that encrypts the bucket. */
  public readonly key: aws.kms.Key;
  /** The bucket. */
  public readonly bucket: aws.s3.Bucket;
  /** The bucket's (auto-generated) name. */
  public readonly bucketName: pulumi.Output<string>;
  /** The bucket's ARN. */
  public readonly bucketArn: pulumi.Output<string>;
  /** The key's ARN. */
  public readonly kmsKeyArn: pulumi.Output<string>;

  constructor(name: string, args: StorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super(STORAGE_TYPE, name, {}, opts);
    const protect = args.protect ?? STORAGE_DEFAULTS.protect;
    const noncurrentDays = args.noncurrentVersionExpirationDays ?? STORAGE_DEFAULTS.noncurrentVersionExpirationDays;
    const abortDays = args.abortIncompleteUploadDays ?? STORAGE_DEFAULTS.abortIncompleteUploadDays;
    const deletionWindowInDays = args.kmsDeletionWindowDays ?? STORAGE_DEFAULTS.kmsDeletionWindowDays;
    const partition = args.partition ?? DEFAULT_PARTITION;

    // Stateful: protected and retained together, so neither a `destroy` nor a removal from the
    // program loses data or the key that decrypts it.
    const keep = { parent: this, protect, retainOnDelete: protect };

    this.key = new aws.kms.Key(
      `${name}-key`,
      { description: `Encrypts the ${name} bucket`, enableKeyRotation: true, deletionWindowInDays },
      keep,
    );
    new aws.kms.Alias(`${name}-key-alias`, { namePrefix: `alias/${name}-`, targetKeyId: this.key.keyId }, { parent: this });

    // A prefix rather than the provider's auto-name from the logical name, which fails once the
    // name is longer than a bucket name may be; S3 allows a prefix of at most 37 characters.
    const bucketPrefix = `${name.toLowerCase().slice(0, 36).replace(/[^a-z0-9-]/g, "-").replace(/-+$/, "")}-`;
    this.bucket = new aws.s3.Bucket(`${name}-bucket`, { bucketPrefix }, keep);
    const bucket = this.bucket.id;
    // Built from the name, which a real preview already knows (auto-naming happens before
    // creation), so the policy can be checked at preview; the provider's `arn` comes only after.
    this.bucketArn = pulumi.interpolate`arn:${partition}:s3:::${this.bucket.bucket}`;

    const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access-block`,
      { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      { parent: this },
    );
    new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } },
      { parent: this },
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: this.key.arn }, bucketKeyEnabled: true }],
      },
      { parent: this },
    );
    const versioning = new aws.s3.BucketVersioning(
      `${name}-versioning`,
      { bucket, versioningConfiguration: { status: "Enabled" } },
      { parent: this },
    );
    // A lifecycle on a versioned bucket must wait for versioning, or S3 may reject noncurrent rules.
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket,
        rules: [
          {
            id: "expire-noncurrent-versions",
            status: "Enabled",
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays },
          },
          {
            id: "abort-incomplete-uploads",
            status: "Enabled",
            filter: {},
            abortIncompleteMultipartUpload: { daysAfterInitiation: abortDays },
          },
        ],
      },
      { parent: this, dependsOn: [versioning] },
    );
    // After the public access block: S3 refuses concurrent changes to one bucket's settings.
    new aws.s3.BucketPolicy(
      `${name}-policy`,
      { bucket, policy: this.bucketArn.apply(tlsOnlyPolicy) },
      { parent: this, dependsOn: [publicAccessBlock] },
    );

    this.bucketName = this.bucket.bucket;
    this.kmsKeyArn = this.key.arn;
    this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn, kmsKeyArn: this.kmsKeyArn });
  }
}
