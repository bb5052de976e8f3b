import { describe, expect, it } from "vitest";
import { Storage, tlsOnlyPolicy, type StorageArgs } from "../components/aws/storage";
import { findResource, isUnknown, runProgram, type PlanResult } from "../tools/engine";

const KEY = "aws:kms/key:Key";
const ALIAS = "aws:kms/alias:Alias";
const BUCKET = "aws:s3/bucket:Bucket";
const PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
const OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls";
const SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration";
const VERSIONING = "aws:s3/bucketVersioning:BucketVersioning";
const LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration";
const POLICY = "aws:s3/bucketPolicy:BucketPolicy";

function run(args: StorageArgs, preview = true): Promise<PlanResult> {
  return runProgram({
    stack: "test",
    config: { "aws:region": "eu-west-1" },
    preview,
    program: () => {
      new Storage("data", args);
    },
  });
}

/** Inputs with the bucket reference (unknown in preview) replaced by a marker, after checking it is one. */
function onBucket(result: PlanResult, type: string, name: string): Record<string, unknown> {
  const resource = findResource(result, type, name);
  expect(resource.propertyDependencies.bucket).toEqual([findResource(result, BUCKET, "data-bucket").urn]);
  return { ...resource.inputs, bucket: "<bucket>" };
}

describe("Storage", () => {
  it("uses the correct default values", async () => {
    const result = await run({});
    const key = findResource(result, KEY, "data-key");
    expect(key.inputs).toEqual({ description: "Encrypts the data bucket", enableKeyRotation: true, deletionWindowInDays: 30 });
    expect(onBucket(result, LIFECYCLE, "data-lifecycle").rules).toEqual([
      { id: "expire-noncurrent-versions", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: 30 } },
      { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
    ]);
    const bucket = findResource(result, BUCKET, "data-bucket");
    expect([bucket.protect, bucket.retainOnDelete, key.protect, key.retainOnDelete]).toEqual([false, false, false, false]);
  });

  it("names the bucket by a prefix and never makes it force-destroyable", async () => {
    const bucket = findResource(await run({}), BUCKET, "data-bucket");
    expect(bucket.inputs).toEqual({ bucketPrefix: "data-" });
  });

  it("keeps the bucket prefix within S3's 37 characters for long names", async () => {
    const result = await runProgram({
      stack: "test",
      config: { "aws:region": "eu-west-1" },
      program: () => {
        new Storage("a-very-long-environment-name-for-testing-storage", {});
      },
    });
    const bucket = findResource(result, BUCKET, "a-very-long-environment-name-for-testing-storage-bucket");
    expect(bucket.inputs.bucketPrefix).toBe("a-very-long-environment-name-for-tes-");
  });

  it("protects and retains the bucket and its key when asked", async () => {
    const result = await run({ protect: true });
    for (const [type, name] of [
      [BUCKET, "data-bucket"],
      [KEY, "data-key"],
    ] as const) {
      const resource = findResource(result, type, name);
      expect([resource.protect, resource.retainOnDelete]).toEqual([true, true]);
    }
    expect(findResource(result, PAB, "data-public-access-block").protect).toBe(false);
  });

  it("takes retention and the key's deletion window from its args", async () => {
    const result = await run({ noncurrentVersionExpirationDays: 90, abortIncompleteUploadDays: 2, kmsDeletionWindowDays: 7 });
    expect(findResource(result, KEY, "data-key").inputs.deletionWindowInDays).toBe(7);
    expect(onBucket(result, LIFECYCLE, "data-lifecycle").rules).toEqual([
      { id: "expire-noncurrent-versions", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: 90 } },
      { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 2 } },
    ]);
  });

  it("aliases the key", async () => {
    const result = await run({});
    const alias = findResource(result, ALIAS, "data-key-alias");
    expect(alias.inputs.namePrefix).toBe("alias/data-");
    expect(alias.propertyDependencies.targetKeyId).toEqual([findResource(result, KEY, "data-key").urn]);
  });

  it("blocks every kind of public access and enforces bucket-owner ownership", async () => {
    const result = await run({});
    expect(onBucket(result, PAB, "data-public-access-block")).toEqual({
      bucket: "<bucket>",
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    expect(onBucket(result, OWNERSHIP, "data-ownership")).toEqual({ bucket: "<bucket>", rule: { objectOwnership: "BucketOwnerEnforced" } });
  });

  it("encrypts with its own KMS key and a bucket key, and versions objects", async () => {
    const result = await run({});
    const sse = findResource(result, SSE, "data-encryption");
    expect(sse.propertyDependencies.rules).toEqual([findResource(result, KEY, "data-key").urn]);
    const rules = onBucket(result, SSE, "data-encryption").rules as { applyServerSideEncryptionByDefault: Record<string, unknown> }[];
    expect(isUnknown(rules[0]!.applyServerSideEncryptionByDefault.kmsMasterKeyId)).toBe(true);
    expect(rules).toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: expect.anything() as unknown }, bucketKeyEnabled: true }]);
    expect(onBucket(result, VERSIONING, "data-versioning")).toEqual({ bucket: "<bucket>", versioningConfiguration: { status: "Enabled" } });
  });

  it("orders the lifecycle after versioning and the bucket policy after the public access block", async () => {
    const result = await run({});
    expect(findResource(result, LIFECYCLE, "data-lifecycle").dependencies).toContain(findResource(result, VERSIONING, "data-versioning").urn);
    expect(findResource(result, POLICY, "data-policy").dependencies).toContain(findResource(result, PAB, "data-public-access-block").urn);
  });

  it("attaches a TLS-only bucket policy built from the bucket's ARN", async () => {
    const result = await run({});
    const policy = findResource(result, POLICY, "data-policy");
    expect(policy.propertyDependencies.policy).toEqual([findResource(result, BUCKET, "data-bucket").urn]);
    expect(isUnknown(policy.inputs.policy)).toBe(true);
  });

  it("denies s3:* without TLS on the bucket and its objects, and allows nothing", () => {
    expect(JSON.parse(tlsOnlyPolicy("arn:aws:s3:::data-bucket-1234567"))).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "DenyInsecureTransport",
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Resource: ["arn:aws:s3:::data-bucket-1234567", "arn:aws:s3:::data-bucket-1234567/*"],
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
      ],
    });
  });
});
