/**
 * Promotion: image automation never commits straight to a protected environment branch and runs
 * only where the stack writes to Git (a non-production stack such as staging); changes reach
 * production through a promotion pull request, and the environment branches' rulesets keep that
 * pull request mergeable every time.
 *
 * The branch an ImageUpdateAutomation pushes to is `spec.git.push.branch` (or the destination of
 * `spec.git.push.refspec`); without either, it pushes to the branch it checked out
 * (`spec.git.checkout.ref.branch`, else the branch of its Git source).
 */
import * as github from "@pulumi/github";
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { list, ofTypes, q, record, str, strings, UNKNOWN, Unknowns } from "./support";
import { imageAutomations } from "./k8s-objects";

const RULESET = "github:index/repositoryRuleset:RepositoryRuleset";

/** Branches the stack's own rulesets guard (`refs/heads/<name>` conditions), by branch name. */
function rulesetBranches(resources: readonly PolicyResource[], unknowns: Unknowns): Map<string, string> {
  const guarded = new Map<string, string>();
  for (const ruleset of ofTypes(resources, [RULESET])) {
    const includes = unknowns.read(() => strings(record(record(ruleset.props.conditions)?.refName)?.includes));
    if (includes === UNKNOWN) continue;
    for (const ref of includes) if (ref.startsWith("refs/heads/")) guarded.set(ref.slice("refs/heads/".length), ruleset.name);
  }
  return guarded;
}

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
  description: "Image automation never pushes to a protected environment branch (prod, or any branch a ruleset of the stack guards); its changes arrive there by pull request.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      protectedBranches: {
        type: "array",
        items: { type: "string" },
        default: ["prod", "production"],
        description: "Branches automation may not push to: the production environments' branches, which `npm run environments -- --write` writes into each policy config from the stack files.",
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const { protectedBranches = ["prod", "production"] } = args.getConfig<{ protectedBranches?: string[] }>();
    const unknowns = new Unknowns();
    const guarded = rulesetBranches(args.resources, unknowns);
    for (const automation of imageAutomations(args.resources)) {
      const branches = unknowns.read(() => pushBranches(record(automation.resource.props.spec) ?? {}, automation.source?.branch));
      if (branches === UNKNOWN) continue;
      if (branches === undefined) {
        reportViolation("image automation's push branch cannot be determined; set spec.git.push.branch to a branch that is not protected", automation.resource.urn);
        continue;
      }
      for (const branch of branches) {
        const ruleset = guarded.get(branch);
        if (ruleset !== undefined) {
          reportViolation(
            `image automation pushes to ${q(branch)}, which the ruleset ${q(ruleset)} lets nobody push to; push to its own branch (e.g. image-updates/${branch}) and let a pull request that merges itself once the checks pass carry it there`,
            automation.resource.urn,
          );
        } else if (protectedBranches.includes(branch)) {
          reportViolation(`image automation pushes to the protected branch ${q(branch)}; push to another branch (e.g. image-updates/${branch}) and promote by pull request`, automation.resource.urn);
        }
      }
    }
    unknowns.rethrow();
  },
};

/** Image automation only where the stack writes to Git: non-production stacks (staging). */
export const imageAutomationStagingOnly: StackValidationPolicy = {
  name: "image-automation-staging-only",
  description: "A stack that never writes to Git (production) runs no image automation; it receives new image tags with the promotion pull request from its upstream.",
  // The non-production config disables it; the production one keeps it mandatory.
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    for (const automation of imageAutomations(args.resources)) {
      reportViolation(
        "image automation runs only in non-production stacks; this stack receives new image tags with the promotion pull request from its upstream",
        automation.resource.urn,
      );
    }
  },
};

/** How pull requests may merge into an environment branch: merge commits only. */
const MERGE_ONLY = ["merge"];

/** Rulesets that keep the staging -> prod promotion pull request mergeable, however many promotions and hotfixes came before. */
export const githubRulesetPromotion: ResourceValidationPolicy = {
  name: "github-ruleset-promotion",
  description:
    "Environment-branch rulesets keep promotion mergeable: no 'require up to date' (the merge commit a promotion leaves on prod would make the next promotion pull request out of date, and updating it is a push the staging ruleset refuses), no linear history, merge commits only.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(github.RepositoryRuleset, (ruleset, _args, reportViolation) => {
    if (ruleset.target !== "branch") return;
    const rules = record(ruleset.rules) ?? {};
    if (record(rules.requiredStatusChecks)?.strictRequiredStatusChecksPolicy === true) {
      reportViolation(
        "requires branches to be up to date (strictRequiredStatusChecksPolicy): after a promotion's merge commit lands on prod, the next staging -> prod pull request is out of date and updating it needs a push to staging that its ruleset refuses; set it to false",
      );
    }
    if (rules.requiredLinearHistory === true) reportViolation("requires linear history, which refuses the merge commits promotion relies on; remove requiredLinearHistory");
    const methods = list(record(rules.pullRequest)?.allowedMergeMethods).map((method) => str(method) ?? "");
    if (methods.length === 0 || methods.some((method) => !MERGE_ONLY.includes(method))) {
      reportViolation(
        `allows merge methods ${methods.length === 0 ? "(the repository's settings)" : methods.join(", ")}; set rules.pullRequest.allowedMergeMethods to ["merge"]: a squashed or rebased promotion or back-merge rewrites history, and every later promotion re-merges old changes`,
      );
    }
  }),
};

/** The promotion rules. */
export const promotionPolicies = [imageAutomationNoProdPush, imageAutomationStagingOnly, githubRulesetPromotion];
