/**
 * Promotion: image automation never commits straight to a protected environment branch; changes
 * reach production through a promotion pull request.
 *
 * The branch an ImageUpdateAutomation pushes to is `spec.git.push.branch` (or the destination of
 * `spec.git.push.refspec`); without either, it pushes to the branch it checked out
 * (`spec.git.checkout.ref.branch`, else the branch of its Git source).
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import { imageAutomations, q, record, str, UNKNOWN, Unknowns } from "./support";

/** Branches image automation pushes to, where they can be told. */
function pushBranches(spec: Record<string, unknown>, sourceBranch: string | undefined): string[] | undefined {
  const git = record(spec.git) ?? {};
  const push = record(git.push) ?? {};
  const branches: string[] = [];
  const branch = str(push.branch);
  if (branch) branches.push(branch);
  const refspec = str(push.refspec);
  if (refspec) {
    const destination = refspec.split(":").pop() ?? "";
    branches.push(destination.replace(/^\+?refs\/heads\//, ""));
  }
  if (branches.length > 0) return branches;
  const checkout = str(record(record(git.checkout)?.ref)?.branch) ?? sourceBranch;
  return checkout ? [checkout] : undefined;
}

/** Promotion: automation never pushes to a protected branch. */
export const imageAutomationNoProdPush: StackValidationPolicy = {
  name: "image-automation-no-prod-push",
  description: "Image automation never pushes to a protected environment branch (prod); production changes arrive by promotion pull request.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      protectedBranches: { type: "array", items: { type: "string" }, default: ["prod", "production"], description: "Branches automation may not push to." },
    },
  },
  validateStack: (args, reportViolation) => {
    const { protectedBranches = ["prod", "production"] } = args.getConfig<{ protectedBranches?: string[] }>();
    const unknowns = new Unknowns();
    for (const automation of imageAutomations(args.resources)) {
      const branches = unknowns.read(() => pushBranches(record(automation.resource.props.spec) ?? {}, automation.source?.branch));
      if (branches === UNKNOWN) continue;
      if (branches === undefined) {
        reportViolation("image automation's push branch cannot be determined; set spec.git.push.branch to a branch that is not protected", automation.resource.urn);
        continue;
      }
      for (const branch of branches.filter((b) => protectedBranches.includes(b))) {
        reportViolation(`image automation pushes to the protected branch ${q(branch)}; push to another branch (e.g. image-updates/${branch}) and promote by pull request`, automation.resource.urn);
      }
    }
    unknowns.rethrow();
  },
};

/** The promotion rules. */
export const promotionPolicies = [imageAutomationNoProdPush];
