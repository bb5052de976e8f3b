/**
 * The workflows' inline github-scripts run against a fake GitHub API, as actions/github-script runs
 * them (an async function body).
 */
import { workflow } from "./workflows";

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
  const group = (prefix: string, names: string[]) => Object.fromEntries(names.map((n) => [n, method(`${prefix}.${n}`)]));
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

export function scriptOf(file: string, jobId: string): string {
  const step = workflow(file).jobs?.[jobId]?.steps?.find((s) => s.uses?.startsWith("actions/github-script@"));
  const script = step?.with?.script;
  if (typeof script !== "string") throw new Error(`${file} ${jobId}: no github-script`);
  return script;
}

export type ScriptFunction = (...args: unknown[]) => Promise<unknown>;
export const AsyncFunction = (async () => {}).constructor as unknown as new (...args: string[]) => ScriptFunction;

/** Runs a workflow's inline script the way actions/github-script does: as the body of an async function. */
export async function runScript(file: string, jobId: string, args: { github: unknown; context: unknown; core: unknown; env: Record<string, string> }) {
  const fn = new AsyncFunction("github", "context", "core", "process", "require", scriptOf(file, jobId));
  await fn(args.github, args.context, args.core, { env: args.env }, require);
}

export const repo = { owner: "acme-corp", repo: "gitops-platform" };
export const runEnv = { GITHUB_SERVER_URL: "https://github.com" };
export const bot = { login: "github-actions[bot]" };
