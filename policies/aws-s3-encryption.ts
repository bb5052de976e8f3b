/**
 * S3 encryption: every bucket encrypts by default with SSE-KMS (or DSSE-KMS) under a KMS key the
 * stack declares, except that a bucket receiving Application Load Balancer access logs may use
 * SSE-S3, the only encryption AWS supports for them.
 */
import type { PolicyResource, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { actionCovers, attached, dependenciesOfType, knownNames, list, parseDocument, q, record, str, UNKNOWN, Unknowns, type Statement } from "./support";
import { ENCRYPTION_TYPES, forEachBucket, KMS_KEY_TYPES, POLICY_TYPES } from "./aws-s3-buckets";

interface EncryptionRule {
  readonly algorithm: string | undefined;
  readonly keyIsSet: boolean;
  readonly keyFromStack: boolean;
  readonly keyValue: string | undefined | typeof UNKNOWN;
  readonly bucketKey: unknown;
}

/**
 * Elastic Load Balancing's log delivery: the service principal of Regions launched from August 2022
 * and the regional ELB accounts of older Regions ("Enable access logs for your Application Load
 * Balancer", step 2, docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html).
 */
const ELB_LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com";
const ELB_ACCOUNTS = [
  "127311923021", "033677994240", "027434742980", "797873946194", "098369216593", "754344448648", "589379963580", "718504428378",
  "383597477331", "600734575887", "114774131450", "783225319266", "582318560864", "985666609251", "054676820928", "156460612806",
  "652711504416", "635631232127", "009996457667", "897822967062", "076674570225", "507241528517", "048591011584", "190560391635",
  "638102146993",
];

function grantsElbLogDelivery(statement: Statement): boolean {
  if (statement.effect !== "Allow" || !statement.actions.some((action) => actionCovers(action, "s3:PutObject"))) return false;
  return statement.principals.some(
    (principal) =>
      (principal.kind === "Service" && principal.value === ELB_LOG_DELIVERY_SERVICE) ||
      (principal.kind === "AWS" && ELB_ACCOUNTS.some((account) => principal.value === account || new RegExp(`^arn:aws[\\w-]*:iam::${account}:root$`).test(principal.value))),
  );
}

/**
 * Whether a bucket receives Application Load Balancer access logs: a policy of it lets Elastic
 * Load Balancing put objects. UNKNOWN when a policy of it is unknown during preview.
 */
function receivesAlbLogs(args: StackValidationArgs, bucket: PolicyResource): boolean | typeof UNKNOWN {
  const policies = attached(args.resources, POLICY_TYPES, "bucket", bucket, knownNames(bucket, ["bucket"]));
  const documents: (() => unknown)[] = [...policies.map((policy) => (): unknown => policy.props.policy), (): unknown => bucket.props.policy];
  let unknown = false;
  for (const read of documents) {
    // undefined: unknown during preview; null: no policy there.
    const document = Unknowns.peek((): unknown => read() ?? null);
    if (document === undefined) unknown = true;
    if (document === undefined || document === null) continue;
    const parsed = parseDocument(document);
    if ("statements" in parsed && parsed.statements.some(grantsElbLogDelivery)) return true;
  }
  return unknown ? UNKNOWN : false;
}

/** S3 encryption: SSE-KMS with a key declared in the stack and S3 bucket keys on. */
export const s3EncryptionKms: StackValidationPolicy = {
  name: "s3-encryption-kms",
  description:
    "Every S3 bucket encrypts by default with SSE-KMS (bucket keys on) or DSSE-KMS (which AWS does not let use bucket keys), using a KMS key declared in the same stack, except that a bucket whose policy lets Elastic Load Balancing deliver access logs may use SSE-S3, the only encryption AWS supports for Application Load Balancer logs.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      allowSseS3: { type: "boolean", default: false, description: "Tolerate SSE-S3 (AES256) default encryption, e.g. outside production." },
    },
  },
  validateStack: (args, reportViolation) => {
    const { allowSseS3 } = args.getConfig<{ allowSseS3?: boolean }>();
    const unknowns = new Unknowns();
    forEachBucket(args, ENCRYPTION_TYPES, (bucket, configs, label) => {
      const sources: { urn: string; rules: EncryptionRule[] }[] = [];
      for (const config of configs) {
        const fromStack = dependenciesOfType(config, "rules", KMS_KEY_TYPES).length > 0;
        const rules = unknowns.read(() => list(config.props.rules).map((rule) => encryptionRule(rule, fromStack, unknowns, config)), config);
        if (rules !== UNKNOWN) sources.push({ urn: config.urn, rules });
      }
      const inline = unknowns.read(() => record(bucket.props.serverSideEncryptionConfiguration), bucket);
      if (inline !== UNKNOWN && inline !== undefined) {
        const fromStack = dependenciesOfType(bucket, "serverSideEncryptionConfiguration", KMS_KEY_TYPES).length > 0;
        const rule = unknowns.read(() => encryptionRule(inline.rule, fromStack, unknowns, bucket), bucket);
        if (rule !== UNKNOWN) sources.push({ urn: bucket.urn, rules: [rule] });
      }
      if (configs.length === 0 && (inline === undefined || inline === UNKNOWN)) {
        if (inline === UNKNOWN) return;
        reportViolation(
          `${label} has no default encryption; declare an aws.s3.BucketServerSideEncryptionConfiguration for it with sseAlgorithm aws:kms, a KMS key declared in this stack and bucketKeyEnabled: true`,
          bucket.urn,
        );
        return;
      }
      for (const source of sources) {
        for (const rule of source.rules) {
          if (rule.algorithm === "AES256") {
            if (allowSseS3) continue;
            const alb = receivesAlbLogs(args, bucket);
            if (alb === true) continue;
            // Unknown is judged as not proven: the same verdict at first preview as in every later one.
            const why = alb === UNKNOWN ? " (only a bucket whose policy lets Elastic Load Balancing deliver access logs may use SSE-S3, and this bucket's policy is not known during preview)" : "";
            reportViolation(`encryption of ${label} uses SSE-S3 (AES256); use SSE-KMS (aws:kms) with a KMS key declared in this stack${why}`, source.urn);
            continue;
          }
          if (rule.algorithm !== "aws:kms" && rule.algorithm !== "aws:kms:dsse") {
            reportViolation(`encryption of ${label} must use sseAlgorithm aws:kms, got ${q(rule.algorithm ?? null)}`, source.urn);
            continue;
          }
          if (!rule.keyIsSet) {
            reportViolation(`encryption of ${label} uses the AWS managed key; set kmsMasterKeyId to a KMS key declared in this stack`, source.urn);
          } else if (!rule.keyFromStack && rule.keyValue !== UNKNOWN) {
            reportViolation(`encryption of ${label} uses the key ${q(rule.keyValue ?? null)}, which is not declared in this stack; use the stack's own KMS key`, source.urn);
          }
          // AWS: "S3 Bucket Keys aren't supported for DSSE-KMS".
          if (rule.algorithm === "aws:kms" && rule.bucketKey !== true && rule.bucketKey !== UNKNOWN) reportViolation(`encryption of ${label} must set bucketKeyEnabled to true`, source.urn);
        }
      }
    });
    unknowns.rethrow();
  },
};

function encryptionRule(raw: unknown, keyFromStack: boolean, unknowns: Unknowns, resource: PolicyResource): EncryptionRule {
  const rule = record(raw) ?? {};
  const byDefault = record(rule.applyServerSideEncryptionByDefault) ?? {};
  const algorithm = str(byDefault.sseAlgorithm);
  // The key's value is unknown until the key exists; its property dependency says where it comes from.
  const keyIsSet = "kmsMasterKeyId" in byDefault;
  const keyValue = keyIsSet && !keyFromStack ? unknowns.read(() => str(byDefault.kmsMasterKeyId), resource) : undefined;
  const bucketKey = unknowns.read(() => rule.bucketKeyEnabled, resource);
  return { algorithm, keyIsSet, keyFromStack, keyValue, bucketKey };
}
