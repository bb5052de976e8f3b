/**
 * The CrossGuard policy pack of gitops-platform: `pulumi preview --policy-pack policies
 * --policy-pack-config <config>`, the config the stack runs with (its own
 * policies/config/<stack>.json, else production.json or non-production.json after its
 * `production` flag; components/config/environments.ts). This entry is the only place that constructs
 * the PolicyPack (its constructor starts the analyzer server); the rules live in ./rules.
 */
import { PolicyPack } from "@pulumi/policy";
import { POLICY_PACK_NAME, policies } from "./rules";

new PolicyPack(POLICY_PACK_NAME, {
  description: "Security and reliability rules of gitops-platform: S3, KMS, ECR, security groups, IAM, GitHub deploy keys, secrets, SOPS app secrets, Kubernetes, the Flux reconciler and its notifications.",
  // Every rule names its own level; a stack's levels come from the config it runs with.
  enforcementLevel: "mandatory",
  policies,
});
