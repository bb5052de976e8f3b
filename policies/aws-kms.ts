/**
 * KMS: customer managed keys rotate and cannot be deleted on short notice.
 */
import * as aws from "@pulumi/aws";
import type { ReportViolation, ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";

/** AWS's deletion window when none is given. */
const DEFAULT_DELETION_WINDOW_DAYS = 30;

/** KMS: rotation on; deletion window at least the configured minimum. */
export const kmsRotationDeletionWindow: ResourceValidationPolicy = {
  name: "kms-rotation-deletion-window",
  description: "Every symmetric KMS key has automatic rotation on, and every key and replica key a deletion window of at least the configured number of days.",
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
  validateResource: [
    validateResourceOfType(aws.kms.Key, (key, args, reportViolation) => {
      // Only symmetric encryption keys can rotate automatically.
      const symmetric = (key.customerMasterKeySpec ?? "SYMMETRIC_DEFAULT") === "SYMMETRIC_DEFAULT" && (key.keyUsage ?? "ENCRYPT_DECRYPT") === "ENCRYPT_DECRYPT";
      if (symmetric && key.enableKeyRotation !== true) reportViolation("key rotation must be on (enableKeyRotation: true)");
      checkDeletionWindow(key.deletionWindowInDays, args.getConfig<{ minimumDeletionWindowDays?: number }>(), reportViolation);
    }),
    // A replica rotates with its primary key but has its own deletion window.
    validateResourceOfType(aws.kms.ReplicaKey, (key, args, reportViolation) => {
      checkDeletionWindow(key.deletionWindowInDays, args.getConfig<{ minimumDeletionWindowDays?: number }>(), reportViolation);
    }),
  ],
};

function checkDeletionWindow(days: number | undefined, { minimumDeletionWindowDays = 7 }: { minimumDeletionWindowDays?: number }, reportViolation: ReportViolation): void {
  const window = days ?? DEFAULT_DELETION_WINDOW_DAYS;
  if (window < minimumDeletionWindowDays) reportViolation(`deletion window must be at least ${minimumDeletionWindowDays} days, got ${window}`);
}

/** The KMS rules. */
export const kmsPolicies = [kmsRotationDeletionWindow];
