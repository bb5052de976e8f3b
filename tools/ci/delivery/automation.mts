// What image automation may write, read from a stack's offline plan: the scope the automation
// workflow checks an automation pull request against; and that pull request, opened, refreshed and
// set to merge itself when it holds nothing but tag bumps within the scope (automation workflow, job
// automation-pr, whose github-script step loads this module with require() and calls
// syncAutomationPullRequest).
import { DeliveryConfigError } from "./errors.mts";
import { commitLines, openPullRequests, refreshOrOpen, repoOf, type ChangedFile, type Comparison, type PullRequest, type PullsClient, type RestMethod, type ScriptCore, type StepArgs } from "./github.mts";

const IMAGE_UPDATE_AUTOMATION_TYPE = "kubernetes:image.toolkit.fluxcd.io/v1:ImageUpdateAutomation";
const IMAGE_POLICY_TYPE = "kubernetes:image.toolkit.fluxcd.io/v1:ImagePolicy";

/** What the image automations of one checkout branch may change through their push branch. */
export interface AutomationScope {
  /** The environment branch the automation checks out: the pull request's base. */
  readonly base: string;
  /** The branch the automation pushes to: the pull request's head. */
  readonly head: string;
  /** Directories the automations update (`spec.update.path`), each ending in `/`. */
  readonly paths: string[];
  /** Image policies the automations apply, as `<namespace>:<name>`. */
  readonly policies: string[];
}

/** A value of the plan's JSON, read field by field: anything may be missing or of another type. */
type Json = Record<string, unknown>;

function object(value: unknown): Json {
  return value !== null && typeof value === "object" ? (value as Json) : {};
}

/** `./clusters/base`, `clusters/base/` -> `clusters/base/`; null for a path outside the repository. */
function repoDirectory(updatePath: string): string | null {
  const parts = updatePath.split("/").filter((part) => part !== "" && part !== ".");
  if (updatePath.startsWith("/") || parts.length === 0 || parts.includes("..")) return null;
  return `${parts.join("/")}/`;
}

/**
 * What image automation may write, read from a stack's offline plan (`npm run plan -- --json`),
 * the objects the program declares: per pair of checkout and push branch of its
 * ImageUpdateAutomations, the directories they update (`spec.update.path`) and the image policies
 * (`<namespace>:<name>`) their `policySelector` picks. Flux (image-automation-controller
 * `api/v1/imageupdateautomation_types.go`): an empty policySelector selects every ImagePolicy of
 * the automation's namespace, and the Setters strategy rewrites only marked fields under the path.
 * Throws a DeliveryConfigError for an automation whose branches or path are not plain values.
 */
export function automationScope(plan: unknown): AutomationScope[] {
  const resources = Array.isArray(object(plan).resources) ? (object(plan).resources as unknown[]).map(object) : null;
  if (resources === null) throw new DeliveryConfigError(["plan: expected the JSON of `npm run plan -- --json` (a resources list)"]);
  const policies = resources.filter((r) => r.type === IMAGE_POLICY_TYPE).map((r) => ({ metadata: object(object(r.inputs).metadata) }));
  const problems: string[] = [];
  const groups = new Map<string, { base: string; head: string; paths: Set<string>; policies: Set<string> }>();
  for (const resource of resources.filter((r) => r.type === IMAGE_UPDATE_AUTOMATION_TYPE)) {
    const metadata = object(object(resource.inputs).metadata);
    const spec = object(object(resource.inputs).spec);
    const where = `ImageUpdateAutomation ${String(metadata.namespace)}/${String(metadata.name)}`;
    const git = object(spec.git);
    const base = object(object(git.checkout).ref).branch;
    const head = object(git.push).branch || base;
    const update = object(spec.update);
    const directory = typeof update.path === "string" ? repoDirectory(update.path) : null;
    const found: string[] = [];
    if (typeof metadata.namespace !== "string" || typeof metadata.name !== "string") found.push(`${where}: expected a known namespace and name`);
    if (typeof base !== "string" || base === "") found.push(`${where}: spec.git.checkout.ref.branch: expected a branch name`);
    if (typeof head !== "string" || head === "") found.push(`${where}: spec.git.push.branch: expected a branch name`);
    if (update.strategy !== "Setters") found.push(`${where}: spec.update.strategy: expected Setters, got ${JSON.stringify(update.strategy)}`);
    if (directory === null) found.push(`${where}: spec.update.path: expected a directory of the repository, got ${JSON.stringify(update.path)}`);
    if (found.length > 0 || typeof base !== "string" || typeof head !== "string" || directory === null) {
      problems.push(...found);
      continue;
    }
    if (head === base) {
      problems.push(`${where}: pushes to its checkout branch ${base}: there is no automation pull request to review`);
      continue;
    }
    const matchLabels = object(object(spec.policySelector).matchLabels);
    const selected = policies
      .filter(({ metadata: m }) => m.namespace === metadata.namespace && typeof m.name === "string")
      .filter(({ metadata: m }) => Object.entries(matchLabels).every(([key, value]) => object(m.labels)[key] === value))
      .map(({ metadata: m }) => `${String(m.namespace)}:${String(m.name)}`);
    const key = `${base}\u0000${head}`;
    const group = groups.get(key) ?? { base, head, paths: new Set<string>(), policies: new Set<string>() };
    group.paths.add(directory);
    for (const policy of selected) group.policies.add(policy);
    groups.set(key, group);
  }
  if (problems.length > 0) throw new DeliveryConfigError(problems);
  return [...groups.values()].map((g) => ({ base: g.base, head: g.head, paths: [...g.paths].sort(), policies: [...g.policies].sort() }));
}

// A value of a setter-marked line: a tag (OCI distribution spec grammar), maybe quoted, then the
// marker naming the policy and the `tag` setter.
const MARKED_TAG = /^(\s*[^\s#][^#]*?:\s+)("?)([A-Za-z0-9_][A-Za-z0-9._-]{0,127})\2(\s+#\s*\{"\$imagepolicy":\s*"([^"]+)"\})\s*$/;

/** A removed or added line of a patch: its line number (before or after) and its setter-marked field, if it is one. */
interface PatchLine {
  readonly at: number;
  readonly field: RegExpExecArray | null;
}

/** Same line number, same key, quoting and marker: only the tag differs. */
function sameField(removed: PatchLine, added: PatchLine | undefined): boolean {
  return removed.at === added?.at && removed.field !== null && added.field !== null && removed.field[1] === added.field[1] && removed.field[2] === added.field[2] && removed.field[4] === added.field[4];
}

/**
 * Why the changed files of an automation pull request are more than tag bumps of the scope, one
 * reason per file (none: it may merge itself): every file must be modified, under one of `paths`,
 * and change only the tags of lines marked with the `tag` setter of one of `policies`, in place.
 */
export function tagBumpProblems(files: readonly ChangedFile[], { paths, policies }: { paths: readonly string[]; policies: readonly string[] }): string[] {
  const allowed = new Set(policies.map((p) => `${p}:tag`));
  const problems: string[] = [];
  for (const file of files) {
    if (!paths.some((p) => file.filename.startsWith(p))) {
      problems.push(`\`${file.filename}\` is outside ${paths.join(", ")}`);
      continue;
    }
    if (file.status !== "modified" || typeof file.patch !== "string") {
      problems.push(`\`${file.filename}\` is ${file.status}${typeof file.patch === "string" ? "" : ", without a textual diff"}`);
      continue;
    }
    // Each removed line with its line number before, each added one with its number after: a tag
    // bump replaces a line in place, so the numbers pair up exactly.
    const removed: PatchLine[] = [];
    const added: PatchLine[] = [];
    let before = 0;
    let after = 0;
    for (const line of file.patch.split("\n")) {
      const hunk = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
      if (hunk) {
        before = Number(hunk[1]);
        after = Number(hunk[2]);
      } else if (line.startsWith("-")) {
        removed.push({ at: before++, field: MARKED_TAG.exec(line.slice(1)) });
      } else if (line.startsWith("+")) {
        added.push({ at: after++, field: MARKED_TAG.exec(line.slice(1)) });
      } else if (!line.startsWith("\\")) {
        before++;
        after++;
      }
    }
    if (removed.length === 0 || removed.length !== added.length || removed.some((r, i) => !sameField(r, added[i]))) {
      problems.push(`\`${file.filename}\` changes more than the tags of image policy markers`);
      continue;
    }
    const foreign = [...new Set(added.map((a) => a.field?.[5] ?? "").filter((policy) => !allowed.has(policy)))];
    if (foreign.length > 0) {
      problems.push(`\`${file.filename}\` changes tags marked for ${foreign.map((f) => `\`${f}\``).join(", ")}, not the tag setter of an image policy of this automation (${[...allowed].join(", ") || "none"})`);
    }
  }
  return problems;
}

/** The automation pull request's description: whether it merges itself (or why not) and its commits. */
export function automationBody({ head, problems, comparison }: { head: string; problems: readonly string[]; comparison: Comparison }): string {
  return [
    `Image tag bumps by Flux image automation, from \`${head}\`.`,
    "",
    problems.length === 0
      ? "Every change is a tag behind an image policy marker: this pull request merges itself once the required checks pass."
      : ["**Not merged automatically**: a person must review it, because:", "", ...problems.map((p) => `- ${p}`)].join("\n"),
    "",
    `### ${comparison.ahead_by} commit(s)`,
    "",
    ...commitLines(comparison.commits.slice(-50)),
    "",
    "<sub>Opened and refreshed by the automation workflow.</sub>",
  ].join("\n");
}

/** The octokit's methods syncAutomationPullRequest uses, on a token with Contents and Pull requests write. */
export interface AutomationClient extends PullsClient {
  readonly rest: PullsClient["rest"] & { readonly git: { readonly getRef: RestMethod; readonly deleteRef: RestMethod } };
  graphql(query: string, variables: Record<string, unknown>): Promise<unknown>;
}

export interface SyncAutomationPullRequestArgs {
  /** The octokit, authenticated as the deploy App narrowed to Contents and Pull requests write. */
  readonly github: AutomationClient;
  readonly core: ScriptCore;
  readonly owner: string;
  readonly repo: string;
  /** The scope job's output `scope`: the JSON list automationScope returned. */
  readonly scope: string | undefined;
}

/** What syncAutomationPullRequest did for one push branch of the scope. */
export interface AutomationResult {
  readonly head: string;
  readonly action: "none" | "deleted" | "auto-merge" | "review";
  readonly number?: number;
}

/** GitHub's GraphQL mutation that turns a pull request's auto-merge on (with a merge commit) or off. */
function autoMerge(verb: "enable" | "disable"): string {
  return `mutation($id: ID!) { ${verb}PullRequestAutoMerge(input: { pullRequestId: $id${verb === "enable" ? ", mergeMethod: MERGE" : ""} }) { clientMutationId } }`;
}

/**
 * For each push branch of the scope: opens or refreshes its pull request into its checkout branch,
 * turns auto-merge on when every change is a tag bump within the scope and off otherwise (the
 * description says why); once the branch is fully merged, deletes it if its tip is what a pull
 * request merged. Fails the step when `scope` is not the scope job's list.
 */
export async function syncAutomationPullRequest({ github, core, owner, repo, scope: scopeJson }: SyncAutomationPullRequestArgs): Promise<AutomationResult[] | undefined> {
  let scope: unknown;
  try {
    scope = JSON.parse(scopeJson ?? "");
  } catch {
    scope = null;
  }
  if (!Array.isArray(scope)) {
    core.setFailed(`SCOPE: expected the list the scope job wrote, got ${JSON.stringify(scopeJson ?? "")}`);
    return undefined;
  }
  if (scope.length === 0) {
    core.info("no stack runs image automation: nothing to propose");
    return [];
  }
  const results: AutomationResult[] = [];
  for (const { base, head, paths, policies } of scope as AutomationScope[]) {
    let comparison: Comparison;
    try {
      comparison = (await github.rest.repos.compareCommits({ owner, repo, base, head })).data as Comparison;
    } catch (error) {
      if ((error as { status?: number }).status !== 404) throw error;
      core.info(`no branch ${head}: nothing to propose`);
      results.push({ head, action: "none" });
      continue;
    }
    if (comparison.ahead_by === 0) {
      // Fully merged: delete the branch if its tip is what a pull request into base merged.
      const ref = (await github.rest.git.getRef({ owner, repo, ref: `heads/${head}` })).data as { object?: { sha?: string } };
      const closed = (await github.rest.pulls.list({ owner, repo, state: "closed", base, head: `${owner}:${head}`, per_page: 10 })).data as PullRequest[];
      const merged = closed.find((p) => p.merged_at && p.head?.sha === ref.object?.sha);
      if (merged) {
        await github.rest.git.deleteRef({ owner, repo, ref: `heads/${head}` });
        core.info(`deleted ${head}: #${merged.number} merged it into ${base}`);
        results.push({ head, action: "deleted", number: merged.number });
      } else {
        core.info(`${base} already has every commit of ${head}: nothing to propose`);
        results.push({ head, action: "none" });
      }
      continue;
    }
    const problems = tagBumpProblems(comparison.files ?? [], { paths, policies });
    const body = automationBody({ head, problems, comparison });
    const title = `Image updates for ${base}`;
    const open = await openPullRequests(github, { owner, repo, base, head });
    const { pr } = await refreshOrOpen(github, core, { owner, repo, base, head, title, body, open });
    if (problems.length > 0) {
      if (pr.auto_merge) await github.graphql(autoMerge("disable"), { id: pr.node_id });
      core.warning(`#${pr.number} needs a review: ${problems.join("; ")}`);
      results.push({ head, action: "review", number: pr.number });
      continue;
    }
    if (!pr.auto_merge) await github.graphql(autoMerge("enable"), { id: pr.node_id });
    core.info(`#${pr.number} merges itself once the required checks pass`);
    results.push({ head, action: "auto-merge", number: pr.number });
  }
  return results;
}

/** The automation-pr job's step (automation.yml): its env SCOPE, the scope job's output. */
export async function runStep({ github, context, core }: StepArgs<AutomationClient>, env: NodeJS.ProcessEnv = process.env): Promise<AutomationResult[] | undefined> {
  return syncAutomationPullRequest({ github, core, ...repoOf(context), scope: env.SCOPE });
}
