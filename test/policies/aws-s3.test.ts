import { describe, expect, it } from "vitest";
import type { RecordedResource } from "../../tools/engine";
import { s3NoPublicPrincipal, s3OwnershipEnforced, s3ProtectRetain, s3PublicAccessBlock, s3TlsOnly, s3VersioningLifecycle } from "../../policies/aws-s3";
import { s3EncryptionKms } from "../../policies/aws-s3-encryption";
import { messages, res, stackUnknownNote, UNKNOWN, violations, withInputs } from "./harness";

const TLS_STATEMENT = {
  Sid: "DenyInsecureTransport",
  Effect: "Deny",
  Principal: "*",
  Action: "s3:*",
  Resource: ["arn:aws:s3:::data-bucket", "arn:aws:s3:::data-bucket/*"],
  Condition: { Bool: { "aws:SecureTransport": "false" } },
};

/** A bucket with every setting the S3 rules ask for, each in its own resource. */
function goodBucket() {
  const key = res("aws:kms/key:Key", "key", { enableKeyRotation: true });
  const bucket = res("aws:s3/bucket:Bucket", "data", { bucketPrefix: "data-" }, { protect: true, retainOnDelete: true });
  const on = { deps: { bucket: [bucket] } };
  return {
    key,
    bucket,
    block: res(
      "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
      "data-block",
      { bucket: UNKNOWN, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      on,
    ),
    ownership: res("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "data-ownership", { bucket: UNKNOWN, rule: { objectOwnership: "BucketOwnerEnforced" } }, on),
    encryption: res(
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      "data-encryption",
      { bucket: UNKNOWN, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: UNKNOWN }, bucketKeyEnabled: true }] },
      { deps: { bucket: [bucket], rules: [key] } },
    ),
    versioning: res("aws:s3/bucketVersioning:BucketVersioning", "data-versioning", { bucket: UNKNOWN, versioningConfiguration: { status: "Enabled" } }, on),
    lifecycle: res(
      "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
      "data-lifecycle",
      {
        bucket: UNKNOWN,
        rules: [
          { id: "noncurrent", status: "Enabled", noncurrentVersionExpiration: { noncurrentDays: 30 } },
          { id: "uploads", status: "Enabled", abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
        ],
      },
      on,
    ),
    policy: res("aws:s3/bucketPolicy:BucketPolicy", "data-policy", { bucket: UNKNOWN, policy: JSON.stringify({ Version: "2012-10-17", Statement: [TLS_STATEMENT] }) }, on),
  };
}

type Stack = ReturnType<typeof goodBucket>;

/** The good bucket with one resource changed (or removed, with null). */
function stack(change: Partial<Record<keyof Stack, RecordedResource | null>> = {}): RecordedResource[] {
  const resources: Record<string, RecordedResource | null> = { ...goodBucket(), ...change };
  return Object.values(resources).filter((r): r is RecordedResource => r !== null);
}

const good = goodBucket();

describe("s3-public-access-block", () => {
  it("passes a bucket whose public access block sets all four flags", async () => {
    expect(await messages(s3PublicAccessBlock, stack())).toEqual([]);
  });

  it("fails a bucket without a public access block, on the bucket, as mandatory", async () => {
    const found = await violations(s3PublicAccessBlock, stack({ block: null }));
    expect(found).toEqual([
      {
        policyPack: "gitops-platform",
        policyName: "s3-public-access-block",
        enforcementLevel: "mandatory",
        resource: good.bucket.urn,
        type: "aws:s3/bucket:Bucket",
        message:
          'bucket "data" has no public access block; declare an aws.s3.BucketPublicAccessBlock for it with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets set to true',
      },
    ]);
  });

  it("fails a flag that is not true", async () => {
    const block = withInputs(good.block, { restrictPublicBuckets: false });
    expect(await messages(s3PublicAccessBlock, stack({ block }))).toEqual(['public access block of bucket "data" must set restrictPublicBuckets to true']);
  });

  it("joins a block to its bucket by a known bucket name as well", async () => {
    const bucket = withInputs(good.bucket, { bucketPrefix: undefined, bucket: "data-bucket" });
    const block = { ...withInputs(good.block, { bucket: "data-bucket" }), propertyDependencies: {}, dependencies: [] };
    expect(await messages(s3PublicAccessBlock, stack({ bucket, block }))).toEqual([]);
    const other = withInputs(block, { bucket: "other-bucket" });
    expect(await messages(s3PublicAccessBlock, stack({ bucket, block: other }))).toEqual([
      'bucket "data-bucket" has no public access block; declare an aws.s3.BucketPublicAccessBlock for it with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets set to true',
    ]);
  });

  it("cannot be decided when a flag is unknown during preview: an advisory note, not a pass", async () => {
    const block = withInputs(good.block, { blockPublicPolicy: UNKNOWN });
    const found = await violations(s3PublicAccessBlock, stack({ block }));
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([
      ["advisory", stackUnknownNote("s3-public-access-block", 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock "data-block": string value at .blockPublicPolicy')],
    ]);
  });
});

describe("s3-ownership-enforced", () => {
  it("passes BucketOwnerEnforced without ACLs", async () => {
    expect(await messages(s3OwnershipEnforced, stack())).toEqual([]);
  });

  it("fails a bucket without ownership controls", async () => {
    expect(await messages(s3OwnershipEnforced, stack({ ownership: null }))).toEqual([
      'bucket "data" has no ownership controls; declare an aws.s3.BucketOwnershipControls for it with objectOwnership BucketOwnerEnforced',
    ]);
  });

  it("fails another object ownership", async () => {
    const ownership = withInputs(good.ownership, { rule: { objectOwnership: "ObjectWriter" } });
    expect(await messages(s3OwnershipEnforced, stack({ ownership }))).toEqual(['ownership controls of bucket "data" must set objectOwnership to BucketOwnerEnforced, got "ObjectWriter"']);
  });

  it("fails a canned ACL on the bucket", async () => {
    const bucket = withInputs(good.bucket, { acl: "public-read" });
    expect(await messages(s3OwnershipEnforced, stack({ bucket }))).toEqual(['bucket "data" sets the ACL "public-read"; ACLs are disabled with BucketOwnerEnforced, remove it']);
  });

  it("fails a separate ACL resource", async () => {
    const acl = res("aws:s3/bucketAclV2:BucketAclV2", "data-acl", { bucket: UNKNOWN, acl: "private" }, { deps: { bucket: [good.bucket] } });
    expect(await messages(s3OwnershipEnforced, [...stack(), acl])).toEqual(['bucket "data" has an ACL resource (data-acl); ACLs are disabled with BucketOwnerEnforced, remove it']);
  });
});

describe("s3-encryption-kms", () => {
  it("passes SSE-KMS with a key of the stack and bucket keys on", async () => {
    expect(await messages(s3EncryptionKms, stack())).toEqual([]);
  });

  it("fails a bucket without default encryption", async () => {
    expect(await messages(s3EncryptionKms, stack({ encryption: null }))).toEqual([
      'bucket "data" has no default encryption; declare an aws.s3.BucketServerSideEncryptionConfiguration for it with sseAlgorithm aws:kms, a KMS key declared in this stack and bucketKeyEnabled: true',
    ]);
  });

  const sseS3 = withInputs(good.encryption, { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] });

  it("fails SSE-S3 by default", async () => {
    expect(await messages(s3EncryptionKms, stack({ encryption: sseS3 }))).toEqual([
      'encryption of bucket "data" uses SSE-S3 (AES256); use SSE-KMS (aws:kms) with a KMS key declared in this stack',
    ]);
  });

  it("tolerates SSE-S3 where the config allows it (staging)", async () => {
    expect(await messages(s3EncryptionKms, stack({ encryption: sseS3 }), { config: { enforcementLevel: "advisory", allowSseS3: true } })).toEqual([]);
  });

  it("fails the AWS managed key", async () => {
    const encryption = withInputs(good.encryption, { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }] });
    expect(await messages(s3EncryptionKms, stack({ encryption }))).toEqual(['encryption of bucket "data" uses the AWS managed key; set kmsMasterKeyId to a KMS key declared in this stack']);
  });

  it("fails a key from outside the stack", async () => {
    const arn = "arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-0000-0000-000000000000";
    const encryption = {
      ...withInputs(good.encryption, { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: arn }, bucketKeyEnabled: true }] }),
      propertyDependencies: { bucket: [good.bucket.urn] },
    };
    expect(await messages(s3EncryptionKms, stack({ encryption }))).toEqual([
      `encryption of bucket "data" uses the key "${arn}", which is not declared in this stack; use the stack's own KMS key`,
    ]);
  });

  it("fails bucket keys off", async () => {
    const encryption = withInputs(good.encryption, { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: UNKNOWN }, bucketKeyEnabled: false }] });
    expect(await messages(s3EncryptionKms, stack({ encryption }))).toEqual(['encryption of bucket "data" must set bucketKeyEnabled to true']);
  });

  const albLogs = (principal: object) =>
    withInputs(good.policy, {
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [TLS_STATEMENT, { Sid: "ElbLogs", Effect: "Allow", Principal: principal, Action: "s3:PutObject", Resource: "arn:aws:s3:::data-bucket/AWSLogs/111111111111/*" }],
      }),
    });

  it("accepts SSE-S3 on a bucket that receives Application Load Balancer logs, the only encryption AWS supports for them", async () => {
    expect(await messages(s3EncryptionKms, stack({ encryption: sseS3, policy: albLogs({ Service: "logdelivery.elasticloadbalancing.amazonaws.com" }) }))).toEqual([]);
    expect(await messages(s3EncryptionKms, stack({ encryption: sseS3, policy: albLogs({ AWS: "arn:aws:iam::156460612806:root" }) }))).toEqual([]);
  });

  it("still fails SSE-S3 on a bucket whose policy grants log delivery to anyone else", async () => {
    expect(await messages(s3EncryptionKms, stack({ encryption: sseS3, policy: albLogs({ Service: "delivery.logs.amazonaws.com" }) }))).toEqual([
      'encryption of bucket "data" uses SSE-S3 (AES256); use SSE-KMS (aws:kms) with a KMS key declared in this stack',
    ]);
    expect(await messages(s3EncryptionKms, stack({ encryption: sseS3, policy: albLogs({ AWS: "arn:aws:iam::222222222222:root" }) }))).toEqual([
      'encryption of bucket "data" uses SSE-S3 (AES256); use SSE-KMS (aws:kms) with a KMS key declared in this stack',
    ]);
  });

  it("fails SSE-S3 at first preview too when the bucket policy is not known yet, saying why", async () => {
    expect(await messages(s3EncryptionKms, stack({ encryption: sseS3, policy: withInputs(good.policy, { policy: UNKNOWN }) }))).toEqual([
      'encryption of bucket "data" uses SSE-S3 (AES256); use SSE-KMS (aws:kms) with a KMS key declared in this stack (only a bucket whose policy lets Elastic Load Balancing deliver access logs may use SSE-S3, and this bucket\'s policy is not known during preview)',
    ]);
  });

  it("accepts DSSE-KMS without bucket keys, which AWS does not support for it", async () => {
    const encryption = withInputs(good.encryption, { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms:dsse", kmsMasterKeyId: UNKNOWN } }] });
    expect(await messages(s3EncryptionKms, stack({ encryption }))).toEqual([]);
    const managedKey = withInputs(good.encryption, { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms:dsse" } }] });
    expect(await messages(s3EncryptionKms, stack({ encryption: managedKey }))).toEqual([
      'encryption of bucket "data" uses the AWS managed key; set kmsMasterKeyId to a KMS key declared in this stack',
    ]);
  });

  it("accepts the deprecated inline configuration on the bucket", async () => {
    const bucket = {
      ...withInputs(good.bucket, {
        serverSideEncryptionConfiguration: { rule: { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: UNKNOWN }, bucketKeyEnabled: true } },
      }),
      propertyDependencies: { serverSideEncryptionConfiguration: [good.key.urn] },
    };
    expect(await messages(s3EncryptionKms, stack({ bucket, encryption: null }))).toEqual([]);
  });
});

describe("s3-tls-only", () => {
  it("passes a policy denying insecure transport on the bucket and its objects", async () => {
    expect(await messages(s3TlsOnly, stack())).toEqual([]);
  });

  it("fails a bucket without a bucket policy", async () => {
    expect(await messages(s3TlsOnly, stack({ policy: null }))).toEqual([
      'bucket "data" has no bucket policy; declare an aws.s3.BucketPolicy that denies s3:* to every principal when aws:SecureTransport is false',
    ]);
  });

  it("fails a policy without the deny", async () => {
    const policy = withInputs(good.policy, { policy: JSON.stringify({ Statement: [{ ...TLS_STATEMENT, Condition: undefined }] }) });
    expect(await messages(s3TlsOnly, stack({ policy }))).toEqual(['bucket policy of bucket "data" must deny s3:* to every principal when aws:SecureTransport is false']);
  });

  it("fails a deny that covers the bucket but not its objects", async () => {
    const policy = withInputs(good.policy, { policy: JSON.stringify({ Statement: [{ ...TLS_STATEMENT, Resource: "arn:aws:s3:::data-bucket" }] }) });
    expect(await messages(s3TlsOnly, stack({ policy }))).toEqual([
      'bucket policy of bucket "data" must deny insecure transport on both the bucket and its objects (<bucket ARN> and <bucket ARN>/*)',
    ]);
  });

  it("fails a deny that names another bucket than the one it is attached to", async () => {
    const bucket = withInputs(good.bucket, { bucket: "data-bucket" });
    const policy = withInputs(good.policy, { policy: JSON.stringify({ Statement: [{ ...TLS_STATEMENT, Resource: ["arn:aws:s3:::logs-bucket", "arn:aws:s3:::logs-bucket/*"] }] }) });
    expect(await messages(s3TlsOnly, stack({ bucket }))).toEqual([]);
    expect(await messages(s3TlsOnly, stack({ bucket, policy }))).toEqual([
      'bucket policy of bucket "data-bucket" must deny insecure transport on both the bucket and its objects (<bucket ARN> and <bucket ARN>/*)',
    ]);
  });

  it("fails a policy that is not JSON", async () => {
    const policy = withInputs(good.policy, { policy: "{not json" });
    expect(await messages(s3TlsOnly, stack({ policy }))).toEqual(['bucket policy of bucket "data" is not valid JSON']);
  });

  it("cannot be decided while the policy document is unknown (it names the bucket's ARN)", async () => {
    const policy = withInputs(good.policy, { policy: UNKNOWN });
    const found = await violations(s3TlsOnly, stack({ policy }));
    expect(found).toEqual([
      { policyPack: "gitops-platform", policyName: "s3-tls-only", enforcementLevel: "advisory", message: stackUnknownNote("s3-tls-only", 'aws:s3/bucketPolicy:BucketPolicy "data-policy": string value at .policy'),
      },
    ]);
  });
});

describe("s3-no-public-principal", () => {
  it("passes a policy whose only statement for everyone is a deny", async () => {
    expect(await messages(s3NoPublicPrincipal, stack())).toEqual([]);
  });

  it("fails an Allow to Principal *", async () => {
    const statement = { Sid: "Public", Effect: "Allow", Principal: { AWS: "*" }, Action: "s3:GetObject", Resource: "arn:aws:s3:::data-bucket/*" };
    const policy = withInputs(good.policy, { policy: JSON.stringify({ Statement: [TLS_STATEMENT, statement] }) });
    expect(await messages(s3NoPublicPrincipal, stack({ policy }))).toEqual(['bucket policy statement "Public" allows Principal "*"; name the principals that need access']);
  });

  it("fails an inline bucket policy allowing everyone", async () => {
    const bucket = withInputs(good.bucket, { policy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject" }] }) });
    expect(await messages(s3NoPublicPrincipal, stack({ bucket }))).toEqual(['bucket policy statement #0 allows Principal "*"; name the principals that need access']);
  });

  it("fails an Allow with NotPrincipal (everyone but the listed principals)", async () => {
    const statement = { Sid: "AllButOne", Effect: "Allow", NotPrincipal: { AWS: "arn:aws:iam::111111111111:role/x" }, Action: "s3:GetObject", Resource: "arn:aws:s3:::data-bucket/*" };
    const policy = withInputs(good.policy, { policy: JSON.stringify({ Statement: [TLS_STATEMENT, statement] }) });
    expect(await messages(s3NoPublicPrincipal, stack({ policy }))).toEqual(['bucket policy statement "AllButOne" allows everyone but its NotPrincipal; name the principals that need access']);
  });

  it("fails an inline aws.s3.BucketV2 policy allowing { AWS: [\"*\"] }", async () => {
    const policy = JSON.stringify({ Statement: [{ Sid: "Read", Effect: "Allow", Principal: { AWS: ["*"] }, Action: "s3:GetObject", Resource: "arn:aws:s3:::data-bucket/*" }] });
    const bucket = res("aws:s3/bucketV2:BucketV2", "legacy", { bucket: "data-bucket", policy });
    expect(await messages(s3NoPublicPrincipal, [bucket])).toEqual(['bucket policy statement "Read" allows Principal "*"; name the principals that need access']);
  });
});

describe("s3-versioning-lifecycle", () => {
  it("passes versioning with noncurrent expiry and upload aborts", async () => {
    expect(await messages(s3VersioningLifecycle, stack())).toEqual([]);
  });

  it("fails an unversioned bucket", async () => {
    expect(await messages(s3VersioningLifecycle, stack({ versioning: null }))).toEqual(['bucket "data" is not versioned; declare an aws.s3.BucketVersioning for it with status Enabled']);
  });

  it("fails suspended versioning", async () => {
    const versioning = withInputs(good.versioning, { versioningConfiguration: { status: "Suspended" } });
    expect(await messages(s3VersioningLifecycle, stack({ versioning }))).toEqual(['versioning of bucket "data" must have status Enabled, got "Suspended"']);
  });

  it("fails a bucket without lifecycle rules", async () => {
    expect(await messages(s3VersioningLifecycle, stack({ lifecycle: null }))).toEqual([
      'bucket "data" has no lifecycle rules; declare an aws.s3.BucketLifecycleConfiguration for it that expires noncurrent versions and aborts incomplete multipart uploads',
    ]);
  });

  it("fails lifecycle rules without noncurrent expiry, and disabled rules do not count", async () => {
    const lifecycle = withInputs(good.lifecycle, {
      rules: [
        { id: "noncurrent", status: "Disabled", noncurrentVersionExpiration: { noncurrentDays: 30 } },
        { id: "uploads", status: "Enabled", abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
      ],
    });
    expect(await messages(s3VersioningLifecycle, stack({ lifecycle }))).toEqual(['lifecycle of bucket "data" must expire noncurrent versions (noncurrentVersionExpiration in an enabled rule)']);
  });

  it("fails lifecycle rules without upload aborts", async () => {
    const lifecycle = withInputs(good.lifecycle, { rules: [{ id: "noncurrent", status: "Enabled", noncurrentVersionExpiration: { noncurrentDays: 30 } }] });
    expect(await messages(s3VersioningLifecycle, stack({ lifecycle }))).toEqual([
      'lifecycle of bucket "data" must abort incomplete multipart uploads (abortIncompleteMultipartUpload in an enabled rule)',
    ]);
  });
});

describe("s3-protect-retain", () => {
  it("passes a protected, retained bucket", async () => {
    expect(await messages(s3ProtectRetain, stack())).toEqual([]);
  });

  it("fails an unprotected bucket", async () => {
    expect(await messages(s3ProtectRetain, stack({ bucket: { ...good.bucket, protect: false } }))).toEqual(["bucket must be protected (protect: true) so that it cannot be deleted"]);
  });

  it("fails a bucket not retained on delete", async () => {
    expect(await messages(s3ProtectRetain, stack({ bucket: { ...good.bucket, retainOnDelete: false } }))).toEqual(["bucket must be retained on delete (retainOnDelete: true)"]);
  });

  it("fails forceDestroy", async () => {
    expect(await messages(s3ProtectRetain, stack({ bucket: withInputs(good.bucket, { forceDestroy: true }) }))).toEqual([
      "bucket must not set forceDestroy: it would delete every object with the bucket",
    ]);
  });
});
