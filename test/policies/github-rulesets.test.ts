// github-ruleset-review on what an environment branch's ruleset covers (conditions.refName as
// GitHub reads it) and on the review rules that keep an approval meaningful.
import { describe, expect, it } from "vitest";
import { fnmatchRegex, githubRulesetReview } from "../../policies/github-rulesets";
import { messages, stagingRuleset, withInputs, withStagingRules } from "./harness";

const ENVIRONMENTS = { protectedBranches: ["staging", "prod"] };
const PROD = { ...ENVIRONMENTS, minimumApprovingReviews: 1 };
const reviewed = { requiredApprovingReviewCount: 1, dismissStaleReviewsOnPush: true, requireLastPushApproval: true, allowedMergeMethods: ["merge"] };
/** The prod ruleset as the program declares it (one review, stale approvals dismissed, last push approved). */
const prodRuleset = withInputs(withStagingRules({ pullRequest: reviewed }), {
  name: "prod environment branch",
  conditions: { refName: { includes: ["refs/heads/prod"], excludes: [] } },
});
const refName = (includes: string[], excludes: string[] = []) => withInputs(prodRuleset, { conditions: { refName: { includes, excludes } } });

describe("fnmatch patterns as GitHub matches ref names (File::FNM_PATHNAME)", () => {
  it("* and ? stay within one path segment, **/ spans segments, [...] is a class", () => {
    expect(fnmatchRegex("refs/heads/*").test("refs/heads/prod")).toBe(true);
    expect(fnmatchRegex("refs/heads/*").test("refs/heads/image-updates/staging")).toBe(false);
    expect(fnmatchRegex("refs/heads/**/*").test("refs/heads/image-updates/staging")).toBe(true);
    expect(fnmatchRegex("refs/heads/**/*").test("refs/heads/prod")).toBe(true);
    expect(fnmatchRegex("refs/heads/pro?").test("refs/heads/prod")).toBe(true);
    expect(fnmatchRegex("refs/heads/[pq]rod").test("refs/heads/prod")).toBe(true);
    expect(fnmatchRegex("refs/heads/[!p]rod").test("refs/heads/prod")).toBe(false);
    expect(fnmatchRegex("refs/heads/prod.x").test("refs/heads/prodax")).toBe(false);
  });
});

describe("github-ruleset-review: environment-branch coverage", () => {
  it("passes the rulesets the program declares, and rulesets that cover the branch by pattern or ~ALL", async () => {
    expect(await messages(githubRulesetReview, [prodRuleset], { config: PROD })).toEqual([]);
    expect(await messages(githubRulesetReview, [stagingRuleset], { config: ENVIRONMENTS })).toEqual([]);
    expect(await messages(githubRulesetReview, [refName(["refs/heads/p*"]), refName(["~ALL"], ["refs/heads/image-updates/**/*"])], { config: PROD })).toEqual([]);
  });

  it("fails a ruleset that excludes the environment branch it includes", async () => {
    expect(await messages(githubRulesetReview, [refName(["refs/heads/prod"], ["refs/heads/prod"])], { config: PROD })).toEqual([
      'ruleset "prod environment branch": conditions.refName.excludes ("refs/heads/prod") takes the environment branch "prod" out of the ruleset, so nothing guards it; remove it',
    ]);
  });

  it("fails exclusion by pattern, by bare name, by ~ALL and by ~DEFAULT_BRANCH", async () => {
    expect(await messages(githubRulesetReview, [refName(["~ALL"], ["refs/heads/*"])], { config: PROD })).toEqual([
      'ruleset "prod environment branch": conditions.refName.excludes ("refs/heads/*") takes the environment branch "prod" out of the ruleset, so nothing guards it; remove it',
      'ruleset "prod environment branch": conditions.refName.excludes ("refs/heads/*") takes the environment branch "staging" out of the ruleset, so nothing guards it; remove it',
    ]);
    expect(await messages(githubRulesetReview, [refName(["refs/heads/prod"], ["prod", "~DEFAULT_BRANCH"])], { config: PROD })).toEqual([
      'ruleset "prod environment branch": conditions.refName.excludes ("prod", "~DEFAULT_BRANCH") takes the environment branch "prod" out of the ruleset (~DEFAULT_BRANCH is "prod" whenever it is the default branch), so nothing guards it; remove them',
    ]);
    expect(await messages(githubRulesetReview, [refName(["refs/heads/prod"], ["~ALL"])], { config: PROD })).toEqual([
      'ruleset "prod environment branch": conditions.refName.excludes ("~ALL") takes the environment branch "prod" out of the ruleset, so nothing guards it; remove it',
    ]);
  });

  it("fails a ruleset that names the environment branch only among its exclusions, or only through ~DEFAULT_BRANCH", async () => {
    expect(await messages(githubRulesetReview, [refName(["refs/heads/main"], ["refs/heads/prod"])], { config: PROD })).toEqual([
      'ruleset "prod environment branch": conditions.refName.excludes ("refs/heads/prod") takes the environment branch "prod" out of the ruleset, so nothing guards it; remove it',
      'ruleset "prod environment branch": conditions.refName.includes ("refs/heads/main") does not cover the environment branch "prod"; include "refs/heads/prod"',
    ]);
  });

  it("fails a ruleset naming an environment branch that targets tags, and one that only evaluates", async () => {
    expect(await messages(githubRulesetReview, [withInputs(prodRuleset, { target: "tag", enforcement: "evaluate" })], { config: PROD })).toEqual([
      'enforcement is "evaluate"; set it to "active"',
      'ruleset "prod environment branch" names the environment branch "prod" but targets "tag", which guards no branch; set target: "branch"',
    ]);
  });
});

describe("github-ruleset-review: required reviews stay meaningful", () => {
  it("fails a required review that survives new pushes, or that the last pusher may give", async () => {
    const stale = withStagingRules({ pullRequest: { ...reviewed, dismissStaleReviewsOnPush: false, requireLastPushApproval: false } });
    expect(await messages(githubRulesetReview, [withInputs(stale, { name: "prod environment branch", conditions: { refName: { includes: ["refs/heads/prod"], excludes: [] } } })], { config: PROD })).toEqual([
      'ruleset "prod environment branch" requires 1 approving review but keeps approvals after new commits are pushed; set rules.pullRequest.dismissStaleReviewsOnPush: true, or a reviewed pull request can change after its approval',
      'ruleset "prod environment branch" requires 1 approving review but lets the author of the last push approve it; set rules.pullRequest.requireLastPushApproval: true, so someone other than the last pusher approves what merges',
    ]);
  });

  it("asks neither of a ruleset that requires no review (staging)", async () => {
    expect(await messages(githubRulesetReview, [stagingRuleset], { config: ENVIRONMENTS })).toEqual([]);
  });
});
