/**
 * GithubWiring: the GitHub side of the Git-driven flow for one environment.
 *
 * - The config repo's environment branch is guarded by a repository ruleset: changes arrive by pull
 *   request only, merged with a merge commit, once the required checks (the preview job) pass; no
 *   force pushes, no deletion, and no bypass actors at all — admins, Apps and deploy keys included.
 *   Production requires approving reviews. Image automation, the only writer, pushes to its own
 *   unprotected branch; a pull request that merges itself carries that to the environment branch.
 * - Promotion works every time (docs/github.md, test/delivery/promotion.test.ts): the branch need not be up to
 *   date before merging. With "require up to date" on both branches, the merge commit a promotion
 *   leaves on prod makes the next staging → prod pull request out of date, and updating it means a
 *   push to staging that staging's ruleset refuses. Merge commits only (no squash, no rebase): a
 *   squashed promotion or back-merge rewrites history, so staging and prod never share it again and
 *   every later promotion re-merges old changes.
 * - Each application repository gets the Actions variables its CI needs to push images with OIDC and
 *   no stored keys: the role to assume, the ECR repository URL and the region. Staging and prod
 *   write into the same app repositories, so the names carry the environment
 *   (`ECR_REPOSITORY_URL_STAGING`); repository-level variables, not GitHub environments, because a
 *   job running in an environment gets an OIDC `sub` of `environment:<name>`, which the CI roles'
 *   trust (pinned to the repository and branch) would refuse.
 */
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { splitRepository } from "../../policies/vocabulary";
import { ciVariableNames, githubRepoProblem } from "../names";

/** Type token of {@link GithubWiring}. */
export const GITHUB_WIRING_TYPE = "gitops-platform:github:GithubWiring";

/** What one application repository's CI is handed. */
export interface AppCiWiring {
  /** Application name; names the child resources. */
  readonly name: string;
  /** The application's repository, `owner/name`. */
  readonly repository: string;
  /** ARN of the IAM role the app's CI assumes through GitHub OIDC. */
  readonly ciRoleArn: pulumi.Input<string>;
  /** URL of the app's ECR repository (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`). */
  readonly ecrRepositoryUrl: pulumi.Input<string>;
}

/** Defaults of the optional {@link GithubWiringArgs}; the stack contract's `github.branchProtection` defaults to them too. */
export const GITHUB_WIRING_DEFAULTS = { protectBranch: true, requiredReviews: 1, requiredChecks: ["preview"], actionsSettings: true } as const;

export interface GithubWiringArgs {
  /** Environment name; suffixes the Actions variable names and names the ruleset. */
  readonly environment: string;
  /** The config repository, `owner/name`. */
  readonly configRepo: string;
  /** The config repository's environment branch. */
  readonly branch: string;
  /**
   * Guard the environment branch with a ruleset.
   * @default true
   */
  readonly protectBranch?: boolean;
  /**
   * Approving reviews a pull request needs (0 to 6; the stack contract refuses 0 on every
   * environment: each deploy job holds a key that administers the repository's rulesets).
   * @default 1
   */
  readonly requiredReviews?: number;
  /**
   * Status checks (GitHub Actions job names) that must pass before a pull request merges; only
   * GitHub Actions can satisfy them. The branch need not be up to date.
   * @default ["preview"]
   */
  readonly requiredChecks?: readonly string[];
  /**
   * Declare the config repository's GitHub Actions settings: the workflow token is read-only unless a
   * workflow asks for more, and GitHub Actions may not approve pull requests (else any workflow a
   * same-repository pull request adds could approve that pull request as github-actions[bot]). One
   * setting per repository, so exactly one stack per config repository declares it.
   * @default true
   */
  readonly actionsSettings?: boolean;
  /** AWS region, handed to CI as `AWS_REGION_<ENV>`. */
  readonly awsRegion: string;
  /**
   * Application repositories and what their CI needs.
   * @default []
   */
  readonly apps?: readonly AppCiWiring[];
  /** The GitHub provider (owner and token). */
  readonly githubProvider: github.Provider;
}

/**
 * The GitHub App id of GitHub Actions: required checks must come from it. Unpinned, a required
 * check is satisfied by a commit status of that name from anyone with statuses: write, such as the
 * notifications App, whose key a stack secret holds.
 */
export const GITHUB_ACTIONS_APP_ID = 15368;

/** How pull requests into an environment branch merge: merge commits only (see the file comment). */
export const MERGE_METHODS = ["merge"] as const;

// Named in components/names.ts, which the app CI template's generator reads without loading providers.
export { ciVariableNames } from "../names";

export class GithubWiring extends pulumi.ComponentResource {
  /** The guarded branch, or undefined when the guard is off. */
  public readonly protectedBranch: string | undefined;
  /** The ruleset's id, or undefined when the guard is off. */
  public readonly rulesetId: pulumi.Output<string> | undefined;
  /** Actions variable names written, by app name. */
  public readonly ciVariables: Readonly<Record<string, readonly string[]>>;

  constructor(name: string, args: GithubWiringArgs, opts?: pulumi.ComponentResourceOptions) {
    super(GITHUB_WIRING_TYPE, name, {}, opts);
    const protectBranch = args.protectBranch ?? GITHUB_WIRING_DEFAULTS.protectBranch;
    const requiredReviews = args.requiredReviews ?? GITHUB_WIRING_DEFAULTS.requiredReviews;
    const requiredChecks = args.requiredChecks ?? GITHUB_WIRING_DEFAULTS.requiredChecks;
    const apps = args.apps ?? [];

    const problems = argProblems(args, requiredReviews, requiredChecks, protectBranch, apps);
    if (problems.length > 0) throw new Error(`GithubWiring ${name}: ${problems.join("; ")}`);
    const provider = args.githubProvider;

    if (protectBranch) {
      const ruleset = new github.RepositoryRuleset(
        `${name}-branch-ruleset`,
        {
          repository: splitRepository(args.configRepo).name,
          name: `${args.environment} environment branch`,
          target: "branch",
          enforcement: "active",
          conditions: { refName: { includes: [`refs/heads/${args.branch}`], excludes: [] } },
          // No bypassActors: nobody, admins and deploy keys included, pushes past review.
          rules: {
            deletion: true,
            nonFastForward: true,
            pullRequest: {
              requiredApprovingReviewCount: requiredReviews,
              dismissStaleReviewsOnPush: requiredReviews > 0,
              requireLastPushApproval: requiredReviews > 0,
              allowedMergeMethods: [...MERGE_METHODS],
            },
            requiredStatusChecks: {
              requiredChecks: requiredChecks.map((context) => ({ context, integrationId: GITHUB_ACTIONS_APP_ID })),
              // Not "require up to date": it deadlocks promotion (see the file comment).
              strictRequiredStatusChecksPolicy: false,
            },
          },
        },
        { parent: this, provider },
      );
      this.protectedBranch = args.branch;
      this.rulesetId = ruleset.id;
    } else {
      this.protectedBranch = undefined;
      this.rulesetId = undefined;
    }

    if (args.actionsSettings ?? GITHUB_WIRING_DEFAULTS.actionsSettings) {
      // PUT /repos/{owner}/{repo}/actions/permissions/workflow: "GitHub Apps must have the repository
      // administration permission" (GitHub's REST reference), which the deploy App has.
      new github.WorkflowRepositoryPermissions(
        `${name}-actions-settings`,
        { repository: splitRepository(args.configRepo).name, defaultWorkflowPermissions: "read", canApprovePullRequestReviews: false },
        { parent: this, provider },
      );
    }

    const names = ciVariableNames(args.environment);
    const ciVariables: Record<string, string[]> = {};
    for (const app of apps) {
      const repository = splitRepository(app.repository).name;
      const variables: [string, string, pulumi.Input<string>][] = [
        ["role-arn", names.roleArn, app.ciRoleArn],
        ["ecr-url", names.ecrRepositoryUrl, app.ecrRepositoryUrl],
        ["region", names.region, args.awsRegion],
      ];
      for (const [role, variableName, value] of variables) {
        new github.ActionsVariable(`${name}-${app.name}-${role}`, { repository, variableName, value }, { parent: this, provider });
      }
      ciVariables[app.name] = variables.map(([, variableName]) => variableName);
    }
    this.ciVariables = ciVariables;

    this.registerOutputs({ protectedBranch: this.protectedBranch, rulesetId: this.rulesetId, ciVariables: this.ciVariables });
  }
}

function argProblems(args: GithubWiringArgs, reviews: number, checks: readonly string[], protect: boolean, apps: readonly AppCiWiring[]): string[] {
  const problems: string[] = [];
  if (githubRepoProblem(args.configRepo) !== undefined) problems.push(`configRepo: expected owner/name, got ${JSON.stringify(args.configRepo)}`);
  if (!Number.isInteger(reviews) || reviews < 0 || reviews > 6) problems.push(`requiredReviews: expected 0 to 6, got ${reviews}`);
  if (protect && checks.length === 0) problems.push("requiredChecks: expected at least one check (the preview job)");
  const seen = new Set<string>();
  apps.forEach((app, i) => {
    if (githubRepoProblem(app.repository) !== undefined) problems.push(`apps[${i}].repository: expected owner/name, got ${JSON.stringify(app.repository)}`);
    if (seen.has(app.name)) problems.push(`apps[${i}].name: ${app.name} appears twice`);
    seen.add(app.name);
  });
  return problems;
}
