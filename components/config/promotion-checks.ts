/**
 * What a production stack that receives promotions must require of its branch. New image tags reach
 * it only by promotion (docs/apps.md, "The rule for tags"); the preview workflow's job `tag-changes`
 * fails a pull request into it that changes a tag any other way, and only a required check stops the
 * merge.
 */
import { GITHUB_WIRING_DEFAULTS } from "../github/github-wiring";
import { PROJECT } from "./values";

/** The preview workflow's job (.github/workflows/preview.yml) and the status check it reports. */
export const TAG_CHANGES_CHECK = "tag-changes";

/** The problems of a promoted production stack's document (file and parsed config) whose upstream is `from`. */
export function tagCheckProblems(doc: { readonly stack: string; readonly file: string; readonly config: Readonly<Record<string, unknown>> } | undefined, from: string): string[] {
  const github = doc?.config[`${PROJECT}:github`];
  if (doc === undefined || github === null || typeof github !== "object") return [];
  const protection = (github as { branchProtection?: unknown }).branchProtection;
  const declared = protection !== null && typeof protection === "object" ? (protection as { requiredChecks?: unknown }).requiredChecks : undefined;
  // Absent: the component's default, which the ruleset then requires.
  const checks = declared ?? GITHUB_WIRING_DEFAULTS.requiredChecks;
  if (!Array.isArray(checks) || checks.includes(TAG_CHANGES_CHECK)) return [];
  return [
    `${doc.file}: ${PROJECT}:github.branchProtection.requiredChecks: production stack ${doc.stack} receives promotions from ${from}, so its branch must require the check "${TAG_CHANGES_CHECK}" (new image tags arrive only by promotion); add it, got ${JSON.stringify(checks)}`,
  ];
}
