/**
 * Every rule of the pack, in the order of the security table. Shared by the pack's entry
 * (`index.ts`, which alone constructs the PolicyPack) and by the offline engine, which evaluates
 * the same rule objects without starting the CrossGuard server.
 */
import type { Policies } from "@pulumi/policy";
import { s3Policies } from "./aws-s3";
import { kmsPolicies } from "./aws-kms";
import { ecrPolicies } from "./aws-ecr";
import { networkPolicies } from "./aws-network";
import { iamPolicies } from "./aws-iam";
import { githubPolicies } from "./github";
import { secretPolicies } from "./secrets";
import { kubernetesPolicies } from "./kubernetes";
import { promotionPolicies } from "./promotion";
import { notificationPolicies } from "./notifications";
import { sopsPolicies } from "./sops-rules";

/** The pack's name, as `pulumi preview --policy-pack` reports it. */
export const POLICY_PACK_NAME = "gitops-platform";

/** Every rule of the pack. */
export const policies: Policies = [
  ...s3Policies,
  ...kmsPolicies,
  ...ecrPolicies,
  ...networkPolicies,
  ...iamPolicies,
  ...githubPolicies,
  ...secretPolicies,
  ...kubernetesPolicies,
  ...promotionPolicies,
  ...notificationPolicies,
  ...sopsPolicies,
];
