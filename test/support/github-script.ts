/**
 * A fake GitHub API (octokit and `core`) for the delivery scripts of tools/ci/delivery/, and the
 * workflows' github-script glue run against it as actions/github-script runs it (an async function
 * body), loading the module the workflow names.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { RestMethod } from "../../tools/ci/delivery/github.mts";
import { root, workflow } from "./workflows";

export interface Call {
  readonly method: string;
  readonly params: Record<string, unknown>;
}

export type Handler = (params: Record<string, unknown>) => unknown;

/** A fake octokit: every method records its call; a method without a handler throws. */
export function fakeGitHub(handlers: Record<string, Handler>) {
  const calls: Call[] = [];
  const method = (name: string) => async (params: Record<string, unknown>) => {
    calls.push({ method: name, params });
    const handler = handlers[name];
    if (!handler) throw new Error(`unexpected call ${name}`);
    return { data: await handler(params) };
  };
  const group = <K extends string>(prefix: string, names: readonly K[]) => Object.fromEntries(names.map((n) => [n, method(`${prefix}.${n}`)])) as Record<K, RestMethod>;
  const graphql = async (query: string, variables: Record<string, unknown>) => {
    calls.push({ method: "graphql", params: { query, ...variables } });
    const handler = handlers.graphql;
    if (!handler) throw new Error("unexpected call graphql");
    return await handler({ query, ...variables });
  };
  const rest = {
    issues: group("issues", ["listComments", "createComment", "updateComment", "listForRepo", "create", "update", "getLabel", "createLabel"]),
    pulls: group("pulls", ["list", "create", "update"]),
    git: group("git", ["getRef", "deleteRef"]),
    repos: group("repos", ["compareCommits"]),
    actions: group("actions", ["createWorkflowDispatch"]),
  };
  const paginate = async (fn: (p: Record<string, unknown>) => Promise<{ data: unknown }>, params: Record<string, unknown>) => (await fn(params)).data;
  return { github: { rest, paginate, graphql }, calls };
}

export function fakeCore() {
  const log: string[] = [];
  return {
    log,
    core: {
      info: (m: string) => log.push(`info: ${m}`),
      warning: (m: string) => log.push(`warning: ${m}`),
      setFailed: (m: string) => log.push(`failed: ${m}`),
    },
  };
}

function scriptStep(file: string, jobId: string) {
  const step = workflow(file).jobs?.[jobId]?.steps?.find((s) => s.uses?.startsWith("actions/github-script@"));
  if (typeof step?.with?.script !== "string") throw new Error(`${file} ${jobId}: no github-script`);
  return step;
}

export function scriptOf(file: string, jobId: string): string {
  return String(scriptStep(file, jobId).with?.script);
}

/**
 * The file of this repository that a job's github-script loads: its DELIVERY_TOOLS, which must lie
 * in what a checkout step of the same job puts under the workspace (`path:`, `sparse-checkout:`).
 */
export function deliveryToolsOf(file: string, jobId: string): string {
  const tools = scriptStep(file, jobId).env?.DELIVERY_TOOLS;
  const workspace = "${{ github.workspace }}/";
  if (typeof tools !== "string" || !tools.startsWith(workspace)) throw new Error(`${file} ${jobId}: DELIVERY_TOOLS must be a path under ${workspace}, got ${JSON.stringify(tools)}`);
  const inWorkspace = tools.slice(workspace.length);
  const checkouts = (workflow(file).jobs?.[jobId]?.steps ?? []).filter((s) => s.uses?.startsWith("actions/checkout@"));
  const from = checkouts.find((s) => {
    const dir = typeof s.with?.path === "string" ? `${s.with.path}/` : "";
    const sparse = typeof s.with?.["sparse-checkout"] === "string" ? s.with["sparse-checkout"].split("\n").filter(Boolean) : [""];
    return inWorkspace.startsWith(dir) && sparse.some((d) => inWorkspace.slice(dir.length).startsWith(d === "" ? "" : `${d}/`));
  });
  if (!from) throw new Error(`${file} ${jobId}: no checkout step of the job puts ${inWorkspace} into the workspace`);
  const local = path.join(root, inWorkspace.slice(typeof from.with?.path === "string" ? from.with.path.length + 1 : 0));
  if (!fs.existsSync(local)) throw new Error(`${file} ${jobId}: DELIVERY_TOOLS names ${path.relative(root, local)}, which does not exist`);
  return local;
}

export type ScriptFunction = (...args: unknown[]) => Promise<unknown>;
export const AsyncFunction = (async () => {}).constructor as unknown as new (...args: string[]) => ScriptFunction;

/** Runs a workflow's github-script the way actions/github-script does: as the body of an async function. */
export async function runScript(file: string, jobId: string, args: { github: unknown; context: unknown; core: unknown; env: Record<string, string> }) {
  const fn = new AsyncFunction("github", "context", "core", "process", "require", scriptOf(file, jobId));
  await fn(args.github, args.context, args.core, { env: args.env }, require);
}

export const repo = { owner: "acme-corp", repo: "gitops-platform" };
export const runEnv = { GITHUB_SERVER_URL: "https://github.com" };
export const bot = { login: "github-actions[bot]" };
