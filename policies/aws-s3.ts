/**
 * S3: buckets are private, owner-enforced, encrypted with the stack's own KMS key, TLS-only,
 * versioned with lifecycle rules, and kept in production.
 *
 * A bucket's settings are joined to their bucket as stack policies (./aws-s3-buckets); the
 * deprecated inline settings on the bucket itself are honoured too. Encryption is checked in
 * ./aws-s3-encryption.
 */
import * as aws from "@pulumi/aws";
import type { ReportViolation, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { attached, conditionValues, isEveryone, knownNames, list, num, ofTypes, parseDocument, q, record, str, UNKNOWN, Unknowns, type Statement } from "./support";
import { ACL_TYPES, BUCKET_TYPES, forEachBucket, LIFECYCLE_TYPES, OWNERSHIP_TYPES, POLICY_TYPES, PUBLIC_ACCESS_BLOCK_TYPES, VERSIONING_TYPES } from "./aws-s3-buckets";
import { s3EncryptionKms } from "./aws-s3-encryption";

const PUBLIC_ACCESS_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;

/** S3 public: all four public-access-block flags true, on a block attached to every bucket. */
export const s3PublicAccessBlock: StackValidationPolicy = {
  name: "s3-public-access-block",
  description: "Every S3 bucket has a public access block with all four flags set to true.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const unknowns = new Unknowns();
    forEachBucket(args, PUBLIC_ACCESS_BLOCK_TYPES, (bucket, blocks, label) => {
      if (blocks.length === 0) {
        reportViolation(
          `${label} has no public access block; declare an aws.s3.BucketPublicAccessBlock for it with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets set to true`,
          bucket.urn,
        );
      }
      for (const block of blocks) {
        const off = PUBLIC_ACCESS_FLAGS.filter((flag) => {
          const value = unknowns.read((): unknown => block.props[flag], block);
          return value !== true && value !== UNKNOWN;
        });
        if (off.length > 0) reportViolation(`public access block of ${label} must set ${off.join(", ")} to true`, block.urn);
      }
    });
    unknowns.rethrow();
  },
};

/** S3 ownership: BucketOwnerEnforced ownership, no ACLs. */
export const s3OwnershipEnforced: StackValidationPolicy = {
  name: "s3-ownership-enforced",
  description: "Every S3 bucket enforces bucket-owner object ownership (BucketOwnerEnforced) and uses no ACLs.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const unknowns = new Unknowns();
    forEachBucket(args, OWNERSHIP_TYPES, (bucket, controls, label) => {
      const acl = unknowns.read(() => str(bucket.props.acl), bucket);
      if (typeof acl === "string" && acl !== "private") reportViolation(`${label} sets the ACL ${q(acl)}; ACLs are disabled with BucketOwnerEnforced, remove it`, bucket.urn);
      const grants = unknowns.read(() => list(bucket.props.grants).length, bucket);
      if (typeof grants === "number" && grants > 0) reportViolation(`${label} has ACL grants; ACLs are disabled with BucketOwnerEnforced, grant access with the bucket policy instead`, bucket.urn);
      for (const aclResource of attached(args.resources, ACL_TYPES, "bucket", bucket, knownNames(bucket, ["bucket"]))) {
        reportViolation(`${label} has an ACL resource (${aclResource.name}); ACLs are disabled with BucketOwnerEnforced, remove it`, aclResource.urn);
      }
      if (controls.length === 0) {
        reportViolation(`${label} has no ownership controls; declare an aws.s3.BucketOwnershipControls for it with objectOwnership BucketOwnerEnforced`, bucket.urn);
      }
      for (const control of controls) {
        const ownership = unknowns.read(() => str(record(control.props.rule)?.objectOwnership), control);
        if (ownership !== UNKNOWN && ownership !== "BucketOwnerEnforced") {
          reportViolation(`ownership controls of ${label} must set objectOwnership to BucketOwnerEnforced, got ${q(ownership ?? null)}`, control.urn);
        }
      }
    });
    unknowns.rethrow();
  },
};

function deniesInsecureTransport(statement: Statement): boolean {
  const values = conditionValues(statement, ["Bool", "BoolIfExists"], "aws:SecureTransport");
  return (
    statement.effect === "Deny" &&
    statement.principals.some(isEveryone) &&
    statement.actions.some((action) => action === "*" || action.toLowerCase() === "s3:*") &&
    values !== undefined &&
    values.some((value) => value.toLowerCase() === "false")
  );
}

/** True when the resources cover the bucket and its objects; when the bucket's name is known, ARNs must name it. */
function coversBucketAndObjects(resources: readonly string[], names: readonly string[]): boolean {
  if (resources.includes("*")) return true;
  return resources.some((arn) => {
    const match = /^arn:aws[\w-]*:s3:::([^/*]+)$/.exec(arn);
    return match !== null && (names.length === 0 || names.includes(match[1] ?? "")) && resources.includes(`${arn}/*`);
  });
}

/** S3 TLS: the bucket policy denies every S3 action over plain HTTP, on the bucket and its objects. */
export const s3TlsOnly: StackValidationPolicy = {
  name: "s3-tls-only",
  description: "Every S3 bucket has a bucket policy that denies s3:* when aws:SecureTransport is false, on the bucket and its objects.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const unknowns = new Unknowns();
    forEachBucket(args, POLICY_TYPES, (bucket, policies, label) => {
      const names = knownNames(bucket, ["bucket"]);
      const documents: { urn: string; value: unknown }[] = policies.map((policy) => ({ urn: policy.urn, value: unknowns.read((): unknown => policy.props.policy, policy) }));
      const inline = unknowns.read((): unknown => bucket.props.policy, bucket);
      if (inline !== undefined) documents.push({ urn: bucket.urn, value: inline });
      if (documents.length === 0) {
        reportViolation(`${label} has no bucket policy; declare an aws.s3.BucketPolicy that denies s3:* to every principal when aws:SecureTransport is false`, bucket.urn);
        return;
      }
      for (const document of documents) {
        if (document.value === UNKNOWN) continue;
        const parsed = unknowns.read(() => parseDocument(document.value), args.resources.find((resource) => resource.urn === document.urn));
        if (parsed === UNKNOWN) continue;
        if ("error" in parsed) {
          reportViolation(`bucket policy of ${label} ${parsed.error}`, document.urn);
          continue;
        }
        const denying = parsed.statements.filter(deniesInsecureTransport);
        if (denying.length === 0) {
          reportViolation(`bucket policy of ${label} must deny s3:* to every principal when aws:SecureTransport is false`, document.urn);
        } else if (!denying.some((statement) => coversBucketAndObjects(statement.resources, names))) {
          reportViolation(`bucket policy of ${label} must deny insecure transport on both the bucket and its objects (<bucket ARN> and <bucket ARN>/*)`, document.urn);
        }
      }
    });
    unknowns.rethrow();
  },
};

function reportPublicPrincipal(document: unknown, reportViolation: ReportViolation): void {
  const parsed = parseDocument(document);
  if ("error" in parsed) return; // s3-tls-only reports documents that do not parse
  for (const statement of parsed.statements) {
    if (statement.effect === "Allow" && statement.principals.some(isEveryone)) {
      reportViolation(`bucket policy statement ${statement.id} allows Principal "*"; name the principals that need access`);
    }
    // Allow with NotPrincipal allows everyone but the principals it lists.
    if (statement.effect === "Allow" && statement.hasNotPrincipal) {
      reportViolation(`bucket policy statement ${statement.id} allows everyone but its NotPrincipal; name the principals that need access`);
    }
  }
}

/** S3 principal: no bucket policy statement allows everyone. */
export const s3NoPublicPrincipal: ResourceValidationPolicy = {
  name: "s3-no-public-principal",
  description: "No S3 bucket policy has an Allow statement for Principal \"*\" or with NotPrincipal.",
  enforcementLevel: "mandatory",
  validateResource: [
    validateResourceOfType(aws.s3.BucketPolicy, (policy, _args, reportViolation) => reportPublicPrincipal(policy.policy, reportViolation)),
    (args, reportViolation) => {
      // The deprecated inline policy of either bucket type.
      if (BUCKET_TYPES.includes(args.type) && args.props.policy !== undefined) reportPublicPrincipal(args.props.policy, reportViolation);
    },
  ],
};

/** S3 versioning / lifecycle: versioning on, noncurrent versions expire, incomplete uploads abort. */
export const s3VersioningLifecycle: StackValidationPolicy = {
  name: "s3-versioning-lifecycle",
  description: "Every S3 bucket is versioned and has lifecycle rules that expire noncurrent versions and abort incomplete multipart uploads.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const unknowns = new Unknowns();
    for (const bucket of ofTypes(args.resources, BUCKET_TYPES)) {
      const names = knownNames(bucket, ["bucket"]);
      const label = `bucket ${q(names[0] ?? bucket.name)}`;

      const versionings = attached(args.resources, VERSIONING_TYPES, "bucket", bucket, names);
      const inlineVersioning = unknowns.read(() => record(bucket.props.versioning)?.enabled, bucket);
      if (versionings.length === 0 && inlineVersioning !== true && inlineVersioning !== UNKNOWN) {
        reportViolation(`${label} is not versioned; declare an aws.s3.BucketVersioning for it with status Enabled`, bucket.urn);
      }
      for (const versioning of versionings) {
        const status = unknowns.read(() => str(record(versioning.props.versioningConfiguration)?.status), versioning);
        if (status !== UNKNOWN && status !== "Enabled") reportViolation(`versioning of ${label} must have status Enabled, got ${q(status ?? null)}`, versioning.urn);
      }

      const lifecycles = attached(args.resources, LIFECYCLE_TYPES, "bucket", bucket, names);
      const rules: { noncurrent: boolean; abort: boolean }[] = [];
      let unknownRules = false;
      for (const lifecycle of lifecycles) {
        const read = unknowns.read(() =>
          list(lifecycle.props.rules).map((raw) => {
            const rule = record(raw) ?? {};
            const enabled = rule.status === "Enabled";
            return {
              noncurrent: enabled && (num(record(rule.noncurrentVersionExpiration)?.noncurrentDays) ?? 0) > 0,
              abort: enabled && (num(record(rule.abortIncompleteMultipartUpload)?.daysAfterInitiation) ?? 0) > 0,
            };
          }),
          lifecycle,
        );
        if (read === UNKNOWN) unknownRules = true;
        else rules.push(...read);
      }
      const inlineRules = unknowns.read(() =>
        list(bucket.props.lifecycleRules).map((raw) => {
          const rule = record(raw) ?? {};
          return {
            noncurrent: rule.enabled === true && (num(record(rule.noncurrentVersionExpiration)?.days) ?? 0) > 0,
            abort: rule.enabled === true && (num(rule.abortIncompleteMultipartUploadDays) ?? 0) > 0,
          };
        }),
        bucket,
      );
      if (inlineRules === UNKNOWN) unknownRules = true;
      else rules.push(...inlineRules);
      if (unknownRules) continue;
      if (lifecycles.length === 0 && rules.length === 0) {
        reportViolation(
          `${label} has no lifecycle rules; declare an aws.s3.BucketLifecycleConfiguration for it that expires noncurrent versions and aborts incomplete multipart uploads`,
          bucket.urn,
        );
        continue;
      }
      const where = lifecycles[0]?.urn ?? bucket.urn;
      if (!rules.some((rule) => rule.noncurrent)) reportViolation(`lifecycle of ${label} must expire noncurrent versions (noncurrentVersionExpiration in an enabled rule)`, where);
      if (!rules.some((rule) => rule.abort)) reportViolation(`lifecycle of ${label} must abort incomplete multipart uploads (abortIncompleteMultipartUpload in an enabled rule)`, where);
    }
    unknowns.rethrow();
  },
};

/** S3 keep: protected, retained on delete, never force-destroyed. */
export const s3ProtectRetain: ResourceValidationPolicy = {
  name: "s3-protect-retain",
  description: "Every S3 bucket is protected, retained on delete and never force-destroyed.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (!BUCKET_TYPES.includes(args.type)) return;
    if (args.opts.protect !== true) reportViolation("bucket must be protected (protect: true) so that it cannot be deleted");
    // retainOnDelete is not part of the analyzer's resource options; offline runs pass it along.
    const retain = (args.opts as { retainOnDelete?: boolean }).retainOnDelete;
    if (retain === false) reportViolation("bucket must be retained on delete (retainOnDelete: true)");
    if (args.props.forceDestroy === true) reportViolation("bucket must not set forceDestroy: it would delete every object with the bucket");
  },
};

/** The S3 rules, in table order. */
export const s3Policies = [s3PublicAccessBlock, s3OwnershipEnforced, s3EncryptionKms, s3TlsOnly, s3NoPublicPrincipal, s3VersioningLifecycle, s3ProtectRetain];
