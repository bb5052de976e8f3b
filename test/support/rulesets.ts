/**
 * The staging branch ruleset's inputs exactly as GithubWiring declares them with its defaults
 * (test/components/github-wiring.test.ts holds the component to it), so the policy tests judge the
 * ruleset the program really declares.
 */
export const STAGING_RULESET_INPUTS = {
  repository: "gitops-platform",
  name: "staging environment branch",
  target: "branch",
  enforcement: "active",
  conditions: { refName: { includes: ["refs/heads/staging"], excludes: [] } },
  rules: {
    deletion: true,
    nonFastForward: true,
    pullRequest: { requiredApprovingReviewCount: 1, dismissStaleReviewsOnPush: true, requireLastPushApproval: true, allowedMergeMethods: ["merge"] },
    requiredStatusChecks: { requiredChecks: [{ context: "preview", integrationId: 15368 }], strictRequiredStatusChecksPolicy: false },
  },
};
