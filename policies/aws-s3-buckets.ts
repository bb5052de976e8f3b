/**
 * S3 resource types and the join of a bucket's settings to their bucket: since AWS provider v4 a
 * bucket's settings live in separate resources (public access block, ownership controls,
 * encryption, versioning, lifecycle, policy) that point at the bucket through their `bucket`
 * property. Shared by the S3 rule modules (./aws-s3, ./aws-s3-encryption).
 */
import type { PolicyResource, StackValidationArgs } from "@pulumi/policy";
import { attached, knownNames, ofTypes, q } from "./support";

export const BUCKET_TYPES = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"];
export const PUBLIC_ACCESS_BLOCK_TYPES = ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"];
export const OWNERSHIP_TYPES = ["aws:s3/bucketOwnershipControls:BucketOwnershipControls"];
export const ACL_TYPES = ["aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2"];
export const ENCRYPTION_TYPES = [
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
];
export const VERSIONING_TYPES = ["aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"];
export const LIFECYCLE_TYPES = ["aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"];
export const POLICY_TYPES = ["aws:s3/bucketPolicy:BucketPolicy"];
export const KMS_KEY_TYPES = ["aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey"];

/** Runs `check` for every bucket of the stack with the resources attached to it by `types`. */
export function forEachBucket(
  args: StackValidationArgs,
  types: readonly string[],
  check: (bucket: PolicyResource, attachments: PolicyResource[], label: string) => void,
): void {
  for (const bucket of ofTypes(args.resources, BUCKET_TYPES)) {
    const names = knownNames(bucket, ["bucket"]);
    check(bucket, attached(args.resources, types, "bucket", bucket, names), `bucket ${q(names[0] ?? bucket.name)}`);
  }
}
