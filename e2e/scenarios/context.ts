/**
 * What the scenarios share: the running cluster, Git server and repositories set up by
 * e2e/run.ts, and the errors a scenario uses to say it did not run.
 */
import * as os from "node:os";
import type { Kubectl } from "../lib/cluster";
import { run } from "../lib/util";
import type { GitServerOptions, KeyPair, Repo } from "../lib/git";
import type { Ports } from "../lib/controllers";

/**
 * Flux 2.7.3's controllers the e2e cannot build here (versions from the operator's
 * config/data/flux/v2.7.3 manifests): the Go module proxy refused every version of these modules
 * (403, measured 2026-12-01). Each run asks again ({@link stillRefused}).
 */
export const UNAVAILABLE = {
  "notification-controller": { module: "github.com/fluxcd/notification-controller", version: "v1.7.4" },
  "image-reflector-controller": { module: "github.com/fluxcd/image-reflector-controller", version: "v1.0.3" },
  "image-automation-controller": { module: "github.com/fluxcd/image-automation-controller", version: "v1.0.3" },
} as const;

/**
 * Asks the Go module proxy for each controller's module. A refusal is the reason a scenario is
 * BLOCKED; a module that is now served fails the scenario instead, so the e2e cannot go on
 * reporting BLOCKED for a controller it could build.
 */
export async function stillRefused(...controllers: (keyof typeof UNAVAILABLE)[]): Promise<never> {
  const reasons: string[] = [];
  for (const controller of controllers) {
    const { module, version } = UNAVAILABLE[controller];
    const result = await run("go", ["mod", "download", "-json", `${module}@${version}`], { cwd: os.tmpdir(), env: { GOFLAGS: "", GOTOOLCHAIN: "local" }, timeoutMs: 60_000 });
    if (result.code === 0) throw new Error(`${module}@${version} is served by the Go module proxy now: build ${controller} in e2e/build.sh and run this scenario for real`);
    const error = (/"Error": "(.*)"/.exec(result.stdout)?.[1] ?? result.stderr.trim()).replace(/\\n\\t/g, " ");
    const refusal = /(\d{3} [A-Za-z ]+?)\s+server response: (.*)$/.exec(error);
    reasons.push(`${module}@${version}: ${refusal ? `refused by the Go module proxy (${refusal[1]}: ${refusal[2]})` : `not downloadable here (${error.slice(0, 200)})`}, so the e2e cannot build ${controller}`);
  }
  throw new Blocked(reasons.join("; "));
}

export class NotRunnable extends Error {}

/** A scenario this machine cannot run because a piece it needs cannot be built here (UNAVAILABLE). */
export class Blocked extends Error {}

export interface Scenario {
  readonly name: string;
  readonly run: () => Promise<string>;
}

/** Adds a scenario to the run, in order. */
export type Push = (name: string, fn: () => Promise<string>) => void;

/** An app of the stack, as the program reads it (branch and path resolved). */
export interface App {
  readonly name: string;
  readonly repo: string;
  readonly branch: string;
  readonly path: string;
  readonly imageAutomation?: { pushBranch?: string };
}

/** The set-up the scenarios run against. */
export interface ScenarioContext {
  /** The repository root. */
  readonly root: string;
  readonly stack: string;
  readonly bins: Record<string, string>;
  readonly port: Ports;
  readonly work: string;
  readonly logDir: string;
  readonly kubectl: Kubectl;
  /** The controllers' environment (KUBECONFIG, RUNTIME_NAMESPACE). */
  readonly env: NodeJS.ProcessEnv;
  readonly github: { configRepo: { repo: string; branch: string } };
  readonly apps: readonly App[];
  /** The config repository got stand-in clusters/ files (this repository ships none). */
  readonly standIn: boolean;
  readonly configRepo: Repo;
  /** The Git server's options, without its host key. */
  readonly gitServer: Omit<GitServerOptions, "hostKeyFile">;
  readonly hostKey: KeyPair;
  readonly otherHostKey: KeyPair;
  /** Applies the rendered objects, once. */
  readonly applyRendered: () => Promise<void>;
  /** The first app, its repository, deploy path and branch; undefined without apps. */
  readonly app: App | undefined;
  readonly appRepo: Repo | undefined;
  readonly appPath: string;
  readonly appBranch: string;
  /** Asks Flux to fetch the first app's repository now. */
  readonly reconcileApp: () => Promise<void>;
  /** Whether a Kustomization has applied `commit`. */
  readonly appliedRevision: (commit: string) => (o: { status?: { lastAppliedRevision?: string } }) => boolean;
}
