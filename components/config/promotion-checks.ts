/**
 * What a production stack that receives promotions must require of its branch. New image tags reach
 * it only by promotion (docs/apps.md, "The rule for tags"); the preview workflow's job `tag-changes`
 * fails a pull request into it that changes a tag any other way, and only a required check stops the
 * merge.
 */
import { GITHUB_WIRING_DEFAULTS } from "../github/github-wiring";
import type { StackDocument } from "./environments";
import { at } from "./stack-values";
import { PROJECT } from "./values";

/** The preview workflow's job (.github/workflows/preview.yml) and the status check it reports. */
export const TAG_CHANGES_CHECK = "tag-changes";

/** The problems of a promoted production stack's document (file and parsed config) whose upstream is `from`. */
export function tagCheckProblems(doc: StackDocument | undefined, from: string): string[] {
  if (doc === undefined) return [];
  const github = doc.config[`${PROJECT}:github`];
  if (github === undefined) return [];
  // Absent: the component's default, which the ruleset then requires.
  const checks = at(github, ["branchProtection", "requiredChecks"]) ?? GITHUB_WIRING_DEFAULTS.requiredChecks;
  if (!Array.isArray(checks) || checks.includes(TAG_CHANGES_CHECK)) return [];
  return [
    `${doc.file}: ${PROJECT}:github.branchProtection.requiredChecks: production stack ${doc.stack} receives promotions from ${from}, so its branch must require the check "${TAG_CHANGES_CHECK}" (new image tags arrive only by promotion); add it, got ${JSON.stringify(checks)}`,
  ];
}
