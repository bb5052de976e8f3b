/**
 * KMS: customer managed keys of every kind rotate where AWS supports it, cannot be deleted on
 * short notice, and their key policies never hand the key to everyone.
 */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { actionCovers, isEveryone, num, parseDocument, q, str, UNKNOWN, Unknowns } from "./support";

/** AWS's deletion window when none is given. */
const DEFAULT_DELETION_WINDOW_DAYS = 30;

const KEY = "aws:kms/key:Key";
/** Imported key material: AWS cannot rotate it automatically. */
const EXTERNAL_KEY = "aws:kms/externalKey:ExternalKey";
/** Replicas share their primary key's rotation; each has its own deletion window and policy. */
const REPLICA_TYPES = ["aws:kms/replicaKey:ReplicaKey", "aws:kms/replicaExternalKey:ReplicaExternalKey"];
const KEY_TYPES = [KEY, EXTERNAL_KEY, ...REPLICA_TYPES];
const KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy";

/**
 * Whether AWS rotates a key automatically: only symmetric encryption keys in the AWS KMS key store
 * ("Rotating AWS KMS keys": not asymmetric, HMAC, imported or custom key store keys).
 */
function rotatable(props: Record<string, unknown>, unknowns: Unknowns): boolean | typeof UNKNOWN {
  const spec = unknowns.read(() => str(props.customerMasterKeySpec) ?? "SYMMETRIC_DEFAULT");
  const usage = unknowns.read(() => str(props.keyUsage) ?? "ENCRYPT_DECRYPT");
  const store = unknowns.read(() => props.customKeyStoreId);
  if (spec === UNKNOWN || usage === UNKNOWN || store === UNKNOWN) return UNKNOWN;
  return spec === "SYMMETRIC_DEFAULT" && usage === "ENCRYPT_DECRYPT" && store === undefined;
}

function checkKeyPolicy(value: unknown, reportViolation: ReportViolation): void {
  if (value === undefined) return; // AWS's default key policy grants the key to the account only
  const parsed = parseDocument(value);
  if ("error" in parsed) {
    reportViolation(`key policy ${parsed.error}`);
    return;
  }
  for (const statement of parsed.statements) {
    if (statement.effect !== "Allow") continue;
    if (!statement.principals.some(isEveryone) && !statement.hasNotPrincipal) continue;
    for (const action of statement.actions.filter((pattern) => actionCovers(pattern, "kms:*") || actionCovers(pattern, "kms:PutKeyPolicy"))) {
      reportViolation(
        `key policy statement ${statement.id} allows ${q(action)} to every principal${statement.hasNotPrincipal ? " but its NotPrincipal" : ""}; grant the key's administration to named principals such as the account root`,
      );
    }
  }
}

/** KMS: rotation on where AWS supports it; deletion window at least the configured minimum; no key policy granting kms:* to everyone. */
export const kmsRotationDeletionWindow: ResourceValidationPolicy = {
  name: "kms-rotation-deletion-window",
  description:
    "Every KMS key (keys, external keys, replica keys) has a deletion window of at least the configured number of days, every key AWS can rotate automatically (symmetric, in the AWS KMS key store) has rotation on, and no key policy allows kms:* to every principal.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      minimumDeletionWindowDays: {
        type: "integer",
        minimum: 7,
        maximum: 30,
        default: 7,
        description: "Shortest deletion window accepted (AWS allows 7 to 30 days).",
      },
    },
  },
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (!KEY_TYPES.includes(args.type) && args.type !== KEY_POLICY) return;
    const unknowns = new Unknowns();
    if (args.type === KEY) {
      const canRotate = rotatable(args.props, unknowns);
      const rotation = unknowns.read((): unknown => args.props.enableKeyRotation);
      if (canRotate === true && rotation !== UNKNOWN && rotation !== true) reportViolation("key rotation must be on (enableKeyRotation: true)");
    }
    if (KEY_TYPES.includes(args.type)) {
      const days = unknowns.read(() => num(args.props.deletionWindowInDays));
      const { minimumDeletionWindowDays = 7 } = args.getConfig<{ minimumDeletionWindowDays?: number }>();
      const window = days === UNKNOWN ? UNKNOWN : (days ?? DEFAULT_DELETION_WINDOW_DAYS);
      if (window !== UNKNOWN && window < minimumDeletionWindowDays) reportViolation(`deletion window must be at least ${minimumDeletionWindowDays} days, got ${window}`);
    }
    const policy = unknowns.read((): unknown => args.props.policy);
    if (policy !== UNKNOWN) checkKeyPolicy(policy, reportViolation);
    unknowns.rethrow();
  },
};

/** The KMS rules. */
export const kmsPolicies = [kmsRotationDeletionWindow];
