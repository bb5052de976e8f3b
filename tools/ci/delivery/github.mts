// What the workflows' github-script steps hand to this runtime (actions/github-script's `github`
// octokit and `core`), as far as it is used here, and the pull request steps the promotion and the
// automation pull requests share. The steps load these modules with require() from a checkout of
// trusted code: they import nothing but node builtins and each other.

/** The part of actions/github-script's `core` the delivery scripts use. */
export interface ScriptCore {
  info(message: string): void;
  warning(message: string): void;
  setFailed(message: string): void;
}

/** One REST method of the octokit: its answer's `data` is read as the REST API documents it. */
export type RestMethod = (params: Record<string, unknown>) => Promise<{ data: unknown }>;

/** The octokit's pull request methods the promotion and automation scripts use. */
export interface PullsClient {
  readonly rest: {
    readonly pulls: { readonly list: RestMethod; readonly create: RestMethod; readonly update: RestMethod };
    readonly repos: { readonly compareCommits: RestMethod };
  };
}

/** A commit of a comparison (`repos.compareCommits`): the fields read here. */
export interface Commit {
  readonly sha: string;
  readonly commit: { readonly message: string };
}

/** A comparison of two branches (`repos.compareCommits`): the fields read here. */
export interface Comparison {
  readonly ahead_by: number;
  readonly commits: readonly Commit[];
  readonly files?: readonly ChangedFile[];
}

/** A file of a comparison: the fields read here. */
export interface ChangedFile {
  readonly filename: string;
  readonly status: string;
  readonly patch?: unknown;
}

/** A pull request as the REST API returns it: the fields read here. */
export interface PullRequest {
  readonly number: number;
  readonly html_url: string;
  readonly node_id?: string;
  readonly auto_merge?: unknown;
  readonly merged_at?: string | null;
  readonly head?: { readonly sha?: string } | null;
}

/** One markdown list line per commit: short SHA and subject. */
export function commitLines(commits: readonly Commit[]): string[] {
  return commits.map((c) => `- \`${c.sha.slice(0, 7)}\` ${c.commit.message.split("\n")[0]}`);
}

/** The open pull requests from `head` (a branch of this repository) into `base`. */
export async function openPullRequests(github: PullsClient, { owner, repo, base, head }: { owner: string; repo: string; base: string; head: string }): Promise<PullRequest[]> {
  const { data } = await github.rest.pulls.list({ owner, repo, state: "open", base, head: `${owner}:${head}`, per_page: 10 });
  return data as PullRequest[];
}

/**
 * Refreshes the first of the `open` pull requests with `title` and `body`, or opens one from `head`
 * into `base` when there is none. Returns the pull request and whether it was opened.
 */
export async function refreshOrOpen(
  github: PullsClient,
  core: ScriptCore,
  { owner, repo, base, head, title, body, open }: { owner: string; repo: string; base: string; head: string; title: string; body: string; open: readonly PullRequest[] },
): Promise<{ pr: PullRequest; opened: boolean }> {
  const existing = open[0];
  if (existing) {
    await github.rest.pulls.update({ owner, repo, pull_number: existing.number, title, body });
    core.info(`refreshed ${existing.html_url}`);
    return { pr: existing, opened: false };
  }
  const { data } = await github.rest.pulls.create({ owner, repo, base, head, title, body });
  const pr = data as PullRequest;
  core.info(`opened ${pr.html_url}`);
  return { pr, opened: true };
}

/**
 * What actions/github-script hands a workflow's script besides the octokit and `core`: the run's
 * context, as far as the delivery scripts read it.
 */
export interface ScriptContext {
  readonly repo: { readonly owner: string; readonly repo: string };
  readonly runId: number;
  readonly eventName: string;
  /** The pull request (or issue) of the event; `number` is undefined for other events. */
  readonly issue: { readonly number: number | undefined };
}

/**
 * A workflow step's github-script is one line, `await require(process.env.DELIVERY_TOOLS).runStep({
 * github, context, core })` (the hardening linter holds every workflow to it): the module's runStep
 * reads the step's env and the run's context, so no logic lives in the YAML.
 */
export interface StepArgs<Client> {
  readonly github: Client;
  readonly context: ScriptContext;
  readonly core: ScriptCore;
}

/** The repository the run belongs to, as the sync functions take it. */
export function repoOf(context: ScriptContext): { readonly owner: string; readonly repo: string } {
  return { owner: context.repo.owner, repo: context.repo.repo };
}

/** The run's page, for links in what the scripts write. */
export function runUrlOf(context: ScriptContext, env: NodeJS.ProcessEnv = process.env): string {
  return `${env.GITHUB_SERVER_URL ?? "https://github.com"}/${context.repo.owner}/${context.repo.repo}/actions/runs/${context.runId}`;
}
