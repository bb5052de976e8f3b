// Promotion: after a successful deploy of an environment that promotes, one pull request from its
// branch into each downstream environment's (deploy workflow, job promote, whose github-script step
// loads this module with require() and calls syncPromotionPullRequest).
import { commitLines, openPullRequests, refreshOrOpen, repoOf, type Comparison, type PullsClient, type ScriptCore, type StepArgs } from "./github.mts";

/** The most commits a promotion pull request lists (the last ones). */
const LISTED_COMMITS = 50;

export interface SyncPromotionPullRequestArgs {
  /** The octokit, authenticated as the deploy App (a pull request it opens starts the preview workflow). */
  readonly github: PullsClient;
  readonly core: ScriptCore;
  readonly owner: string;
  readonly repo: string;
  /** The downstream environment's branch: the pull request's base (the job's matrix). */
  readonly base: string | undefined;
  /** The deployed environment's branch: the pull request's head. */
  readonly head: string | undefined;
  /** The commit the deploy ran (`github.sha`). */
  readonly deployedSha: string | undefined;
  /** The deploy run's link. */
  readonly deployRunUrl: string | undefined;
}

/** What syncPromotionPullRequest did. */
export interface PromotionResult {
  readonly action: "none" | "refreshed" | "opened";
  readonly number?: number;
}

/** The promotion pull request's description: what `head` deployed and the commits `base` lacks. */
export function promotionBody({ base, head, deployedSha, deployRunUrl, comparison }: { base: string; head: string; deployedSha: string; deployRunUrl: string; comparison: Comparison }): string {
  const shown = comparison.commits.slice(-LISTED_COMMITS);
  return [
    `Promotes what runs on **${head}** to **${base}**.`,
    "",
    `${head} deployed \`${deployedSha.slice(0, 12)}\` successfully ([deploy run](${deployRunUrl})).`,
    `The preview workflow attaches the ${base} preview with the policy pack;`,
    `merging runs \`pulumi up\` on ${base} once the \`${base}\` environment's reviewers approve.`,
    "",
    `### ${comparison.ahead_by} commit(s) not on ${base} yet${comparison.ahead_by > shown.length ? ` (the last ${shown.length})` : ""}`,
    "",
    ...commitLines(shown),
    "",
    `<sub>Opened and refreshed by the promote workflow after each successful ${head} deploy.</sub>`,
  ].join("\n");
}

/**
 * Opens or refreshes the pull request `head` → `base` (title `Promote <head> to <base>`) listing the
 * commits `base` does not have yet; does nothing when `base` has them all. Unset inputs read as
 * "undefined", as the environment variables they come from would.
 */
export async function syncPromotionPullRequest({ github, core, owner, repo, ...inputs }: SyncPromotionPullRequestArgs): Promise<PromotionResult> {
  const base = String(inputs.base);
  const head = String(inputs.head);
  const title = `Promote ${head} to ${base}`;
  const comparison = (await github.rest.repos.compareCommits({ owner, repo, base, head })).data as Comparison;
  const open = await openPullRequests(github, { owner, repo, base, head });
  if (comparison.ahead_by === 0) {
    core.info(`${base} already has every commit of ${head}: nothing to promote`);
    return { action: "none" };
  }
  const body = promotionBody({ base, head, deployedSha: String(inputs.deployedSha), deployRunUrl: String(inputs.deployRunUrl), comparison });
  // Opened with an App token, the pull request starts the preview workflow by itself.
  const { pr, opened } = await refreshOrOpen(github, core, { owner, repo, base, head, title, body, open });
  return { action: opened ? "opened" : "refreshed", number: pr.number };
}

/** The promote job's step (deploy.yml, job promote): its env BASE, HEAD, DEPLOYED_SHA and DEPLOY_RUN_URL. */
export async function runStep({ github, context, core }: StepArgs<PullsClient>, env: NodeJS.ProcessEnv = process.env): Promise<PromotionResult> {
  return syncPromotionPullRequest({
    github,
    core,
    ...repoOf(context),
    base: env.BASE,
    head: env.HEAD,
    deployedSha: env.DEPLOYED_SHA,
    deployRunUrl: env.DEPLOY_RUN_URL,
  });
}
