/**
 * Events for the workflow simulator: whether an event starts a workflow (GitHub's trigger filters)
 * and the `github` context it gives the jobs.
 */
import type { Workflow } from "../../../tools/build/workflow-hardening.mts";
import { splitRepository } from "../../../policies/vocabulary";
import { unknown } from "./expressions";

export type Event =
  | { readonly name: "push"; readonly branch?: string; readonly tag?: string; readonly paths?: readonly string[] }
  | {
      readonly name: "pull_request";
      readonly base: string;
      readonly head?: string;
      readonly fork?: boolean;
      readonly number?: number;
      /** The activity type. @default "opened" */
      readonly action?: string;
      /** The files the pull request changes; unknown when left out. */
      readonly paths?: readonly string[];
    }
  | { readonly name: "schedule"; readonly branch?: string }
  | { readonly name: "workflow_dispatch"; readonly branch?: string; readonly inputs?: Readonly<Record<string, string | number | boolean>> };

// GitHub's filter patterns: `*` (no slash), `**`, `?`, `+`, `[...]`, `!` negation, in order.
function globToRegExp(glob: string): RegExp {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*" && glob[i + 1] === "*") {
      out += ".*";
      i++;
    } else if (c === "*") out += "[^/]*";
    else if (c === "?" || c === "+") out += c;
    else if (c === "[") {
      const end = glob.indexOf("]", i);
      out += glob.slice(i, end + 1);
      i = end;
    } else out += c.replace(/[.^$|(){}\\]/g, "\\$&");
  }
  return new RegExp(`^${out}$`);
}

function matchesFilter(value: string | undefined, include: unknown, exclude: unknown): boolean {
  if (include === undefined && exclude === undefined) return true;
  if (value === undefined) return false;
  if (Array.isArray(exclude)) return !exclude.some((p) => globToRegExp(String(p)).test(value));
  let matched = false;
  for (const pattern of (include ?? []) as unknown[]) {
    const p = String(pattern);
    if (p.startsWith("!")) {
      if (globToRegExp(p.slice(1)).test(value)) matched = false;
    } else if (globToRegExp(p).test(value)) matched = true;
  }
  return matched;
}

// GitHub's `pull_request` activity types when `types:` is left out (docs.github.com, "Events that
// trigger workflows", pull_request).
const PULL_REQUEST_TYPES = ["opened", "synchronize", "reopened"];

/**
 * `paths` / `paths-ignore`: at least one changed file matches `paths` (its `!` patterns in order),
 * or at least one is not ignored. A change whose files the event does not name may touch none the
 * filter admits, so a filtered workflow is not known to start for it.
 */
function matchesPaths(files: readonly string[] | undefined, include: unknown, exclude: unknown): boolean {
  if (include === undefined && exclude === undefined) return true;
  if (files === undefined) return false;
  return files.some((file) => matchesFilter(file, include, exclude));
}

export function triggered(workflow: Workflow, event: Event, defaultBranch: string): boolean {
  const on = workflow.on;
  const names = typeof on === "string" ? [on] : Array.isArray(on) ? on.map(String) : Object.keys((on ?? {}));
  if (!names.includes(event.name)) return false;
  const filter = (typeof on === "object" && on && !Array.isArray(on) ? ((on as Record<string, unknown>)[event.name] ?? {}) : {}) as Record<string, unknown>;
  switch (event.name) {
    case "push": {
      const hasTagFilter = filter.tags !== undefined || filter["tags-ignore"] !== undefined;
      const hasBranchFilter = filter.branches !== undefined || filter["branches-ignore"] !== undefined;
      if (event.tag !== undefined) return hasTagFilter ? matchesFilter(event.tag, filter.tags, filter["tags-ignore"]) : !hasBranchFilter;
      const branch = event.branch ?? defaultBranch;
      // Path filters are not evaluated for tag pushes, only for branch pushes.
      const onBranch = hasBranchFilter ? matchesFilter(branch, filter.branches, filter["branches-ignore"]) : !hasTagFilter;
      return onBranch && matchesPaths(event.paths, filter.paths, filter["paths-ignore"]);
    }
    case "pull_request": {
      const types = Array.isArray(filter.types) ? filter.types.map(String) : typeof filter.types === "string" ? [filter.types] : PULL_REQUEST_TYPES;
      if (!types.includes(event.action ?? "opened")) return false;
      return matchesFilter(event.base, filter.branches, filter["branches-ignore"]) && matchesPaths(event.paths, filter.paths, filter["paths-ignore"]);
    }
    default:
      return true;
  }
}

export function githubContext(event: Event, repository: string, defaultBranch: string): Record<string, unknown> {
  const { owner, name } = splitRepository(repository);
  const repo = { name, full_name: repository, default_branch: defaultBranch };
  const common = {
    repository,
    repository_owner: owner,
    server_url: "https://github.com",
    sha: unknown("github.sha"),
    run_id: unknown("github.run_id"),
    token: unknown("github.token"),
    workspace: unknown("github.workspace"),
    event_name: event.name,
  };
  switch (event.name) {
    case "pull_request": {
      const head = event.head ?? "feature";
      const number = event.number ?? 1;
      const headRepo = event.fork ? `someone-else/${repo.name}` : repository;
      return {
        ...common,
        ref: `refs/pull/${number}/merge`,
        ref_name: `${number}/merge`,
        base_ref: event.base,
        head_ref: head,
        event: {
          action: event.action ?? "opened",
          repository: repo,
          number,
          pull_request: {
            number,
            base: { ref: event.base, sha: unknown("github.event.pull_request.base.sha") },
            head: { ref: head, sha: unknown("github.event.pull_request.head.sha"), repo: { full_name: headRepo } },
          },
        },
      };
    }
    case "push": {
      const ref = event.tag !== undefined ? `refs/tags/${event.tag}` : `refs/heads/${event.branch ?? defaultBranch}`;
      return { ...common, ref, ref_name: event.tag ?? event.branch ?? defaultBranch, ref_type: event.tag !== undefined ? "tag" : "branch", event: { repository: repo } };
    }
    default: {
      const branch = event.branch ?? defaultBranch;
      const inputs = event.name === "workflow_dispatch" ? (event.inputs ?? {}) : {};
      return { ...common, ref: `refs/heads/${branch}`, ref_name: branch, ref_type: "branch", event: { repository: repo, inputs } };
    }
  }
}

/** workflow_dispatch inputs a dispatch leaves out take their defaults. */
export function dispatchDefaults(workflow: Workflow): Record<string, unknown> {
  const on = workflow.on as { workflow_dispatch?: { inputs?: Record<string, { default?: unknown }> } } | undefined;
  const declared = on && typeof on === "object" ? (on.workflow_dispatch?.inputs ?? {}) : {};
  return Object.fromEntries(Object.entries(declared).flatMap(([k, v]) => (v?.default !== undefined ? [[k, v.default]] : [])));
}
