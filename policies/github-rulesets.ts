/**
 * GitHub rulesets that guard an environment branch: which branches a ruleset's `conditions.refName`
 * really covers, and what such a ruleset must require.
 *
 * How GitHub reads `conditions.refName` (REST API, "Create a repository ruleset",
 * https://docs.github.com/en/rest/repos/rules#create-a-repository-ruleset, the OpenAPI description
 * in github/rest-api-description, `repository-ruleset-conditions`): `include` is a list of ref names
 * or patterns of which one must match, and also accepts `~DEFAULT_BRANCH` (the default branch) and
 * `~ALL` (every branch); `exclude` is a list of ref names or patterns none of which may match.
 * Patterns are fnmatch patterns matched with Ruby's File::FNM_PATHNAME ("Creating rulesets for a
 * repository", section "Using fnmatch syntax",
 * https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/managing-rulesets/creating-rulesets-for-a-repository#using-fnmatch-syntax):
 * `*` and `?` never match `/`, `**` followed by `/` spans directories (`refs/heads/releases/**` + `/*`),
 * `[...]` is a character class.
 */
import * as github from "@pulumi/github";
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { escapeRegex, joinWords, list, num, q, record, str, strings } from "./support";

const ALL = "~ALL";
const DEFAULT_BRANCH = "~DEFAULT_BRANCH";

/** An fnmatch pattern (File::FNM_PATHNAME) as a regular expression. */
export function fnmatchRegex(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? "";
    if (c === "*") {
      if (pattern[i + 1] === "*" && pattern[i + 2] === "/" && (i === 0 || pattern[i - 1] === "/")) {
        out += "(?:[^/]*/)*"; // `**/`: zero or more directories
        i += 2;
      } else {
        while (pattern[i + 1] === "*") i++;
        out += "[^/]*";
      }
    } else if (c === "?") out += "[^/]";
    else if (c === "\\" && i + 1 < pattern.length) out += escapeRegex(pattern[++i] ?? "");
    else if (c === "[") {
      const close = pattern.indexOf("]", i + 2);
      if (close < 0) out += "\\[";
      else {
        let body = pattern.slice(i + 1, close);
        const negated = body.startsWith("!") || body.startsWith("^");
        if (negated) body = body.slice(1);
        out += `[${negated ? "^/" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`;
        i = close;
      }
    } else out += escapeRegex(c);
  }
  return new RegExp(`^${out}$`);
}

/** True when `pattern` of a refName condition matches branch `branch` (`refs/heads/<branch>`). */
function matchesBranch(pattern: string, branch: string): boolean {
  if (pattern === ALL) return true;
  return fnmatchRegex(pattern).test(`refs/heads/${branch}`);
}

/** How one ruleset covers one environment branch: problems, empty when it guards it. */
function coverageProblems(includes: readonly string[], excludes: readonly string[], branch: string): string[] {
  const problems: string[] = [];
  const included = includes.some((pattern) => matchesBranch(pattern, branch));
  if (!included) {
    const viaDefault = includes.includes(DEFAULT_BRANCH) ? ` (${DEFAULT_BRANCH} covers it only while it is the default branch, a setting this stack does not pin)` : "";
    problems.push(`conditions.refName.includes (${includes.map((p) => q(p)).join(", ") || "empty"}) does not cover the environment branch ${q(branch)}${viaDefault}; include "refs/heads/${branch}"`);
  }
  // Excludes are read widely: a bare name or ~DEFAULT_BRANCH may take the branch out.
  const excluding = excludes.filter((pattern) => pattern === DEFAULT_BRANCH || matchesBranch(pattern, branch) || fnmatchRegex(pattern).test(branch));
  if (excluding.length > 0) {
    problems.push(
      `conditions.refName.excludes (${excluding.map((p) => q(p)).join(", ")}) takes the environment branch ${q(branch)} out of the ruleset${excluding.includes(DEFAULT_BRANCH) ? ` (${DEFAULT_BRANCH} is ${q(branch)} whenever it is the default branch)` : ""}, so nothing guards it; remove ${excluding.length === 1 ? "it" : "them"}`,
    );
  }
  return problems;
}

/**
 * The environment branches a ruleset is about: those an include pattern (or ~ALL) covers, and those
 * an exclude pattern names (an exclusion of every branch, ~ALL, is about none in particular).
 */
function environmentBranchesOf(includes: readonly string[], excludes: readonly string[], protectedBranches: readonly string[]): string[] {
  return protectedBranches.filter(
    (branch) =>
      includes.some((pattern) => matchesBranch(pattern, branch)) ||
      excludes.some((pattern) => pattern !== ALL && pattern !== DEFAULT_BRANCH && (matchesBranch(pattern, branch) || fnmatchRegex(pattern).test(branch))),
  );
}

/** Environment-branch rulesets: guard the branch, active, a reviewed pull request with checks, no force push, no deletion. */
export const githubRulesetReview: ResourceValidationPolicy = {
  name: "github-ruleset-review",
  description:
    "Every branch ruleset, and every ruleset naming an environment branch, targets branches, is active and requires a pull request with at least the configured approving reviews (dismissing stale approvals and requiring approval of the last push whenever it requires one) and one required status check pinned to the App that runs it, and blocks force pushes and deletion; a ruleset naming an environment branch includes it (fnmatch patterns and ~ALL as GitHub reads them) and excludes it neither by pattern nor by ~DEFAULT_BRANCH.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      minimumApprovingReviews: {
        type: "integer",
        minimum: 0,
        maximum: 10,
        default: 1,
        description: "Fewest approving reviews a pull request needs: every environment's deploy job holds a key that administers the repository.",
      },
      protectedBranches: {
        type: "array",
        items: { type: "string" },
        default: ["prod", "production"],
        description: "The environment branches: every environment's branch, which `npm run environments -- --write` writes into each policy config from the stack files.",
      },
    },
  },
  validateResource: validateResourceOfType(github.RepositoryRuleset, (ruleset, args, reportViolation) => {
    const { minimumApprovingReviews = 1, protectedBranches = ["prod", "production"] } = args.getConfig<{ minimumApprovingReviews?: number; protectedBranches?: string[] }>();
    const refName = record(record(ruleset.conditions)?.refName) ?? {};
    const includes = strings(refName.includes);
    const excludes = strings(refName.excludes);
    const environments = environmentBranchesOf(includes, excludes, protectedBranches);
    if (ruleset.target !== "branch") {
      if (environments.length === 0) return;
      reportViolation(`ruleset ${q(ruleset.name)} names the environment branch ${joinWords(environments.map((b) => q(b)))} but targets ${q(ruleset.target)}, which guards no branch; set target: "branch"`);
    }
    for (const branch of environments) for (const problem of coverageProblems(includes, excludes, branch)) reportViolation(`ruleset ${q(ruleset.name)}: ${problem}`);
    const rules = record(ruleset.rules) ?? {};
    if (ruleset.enforcement !== "active") reportViolation(`enforcement is ${q(ruleset.enforcement)}; set it to "active"`);
    const pullRequest = record(rules.pullRequest);
    if (pullRequest === undefined) reportViolation("changes must arrive by pull request; add rules.pullRequest");
    else {
      const reviews = num(pullRequest.requiredApprovingReviewCount) ?? 0;
      if (reviews < minimumApprovingReviews) {
        reportViolation(`pull requests need at least ${minimumApprovingReviews} approving review${minimumApprovingReviews === 1 ? "" : "s"}, got ${reviews}`);
      }
      if (reviews >= 1) {
        if (pullRequest.dismissStaleReviewsOnPush !== true) {
          reportViolation(`ruleset ${q(ruleset.name)} requires ${reviews} approving review${reviews === 1 ? "" : "s"} but keeps approvals after new commits are pushed; set rules.pullRequest.dismissStaleReviewsOnPush: true, or a reviewed pull request can change after its approval`);
        }
        if (pullRequest.requireLastPushApproval !== true) {
          reportViolation(`ruleset ${q(ruleset.name)} requires ${reviews} approving review${reviews === 1 ? "" : "s"} but lets the author of the last push approve it; set rules.pullRequest.requireLastPushApproval: true, so someone other than the last pusher approves what merges`);
        }
      }
    }
    const checks = list(record(rules.requiredStatusChecks)?.requiredChecks).map((check) => record(check) ?? {});
    if (checks.length === 0) reportViolation("at least one required status check (the preview) must pass; add rules.requiredStatusChecks");
    for (const check of checks.filter((c) => !num(c.integrationId))) {
      reportViolation(
        `required check ${q(str(check.context) ?? "(unnamed)")} accepts a status of that name from anyone with statuses: write; pin integrationId to the App that runs it (GitHub Actions: 15368)`,
      );
    }
    if (rules.nonFastForward !== true) reportViolation("force pushes must be blocked; set rules.nonFastForward: true");
    if (rules.deletion !== true) reportViolation("deleting the branch must be blocked; set rules.deletion: true");
  }),
};
