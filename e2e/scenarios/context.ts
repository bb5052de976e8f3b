/**
 * What the scenarios share: the running cluster, Git server and repositories set up by
 * e2e/run.ts, and the errors a scenario uses to say it did not run.
 */
import type { Kubectl } from "../lib/cluster";
import type { GitServerOptions, KeyPair, Repo } from "../lib/git";
import type { Ports } from "../lib/controllers";

/** Controllers the e2e cannot build, and why: every version of these modules is refused by the Go module proxy. */
export const UNAVAILABLE: Record<string, string> = {
  "notification-controller": "github.com/fluxcd/notification-controller is not served by the Go module proxy (403 for every version), so the e2e cannot build it",
  "image-reflector-controller": "github.com/fluxcd/image-reflector-controller is not served by the Go module proxy (403 for every version), so the e2e cannot build it",
  "image-automation-controller": "github.com/fluxcd/image-automation-controller is not served by the Go module proxy (403 for every version), so the e2e cannot build it",
};

export class NotRunnable extends Error {}

/** A scenario this machine cannot run because a piece it needs cannot be built here (UNAVAILABLE). */
export class Blocked extends Error {}

export interface Scenario {
  readonly name: string;
  readonly run: () => Promise<string>;
}

/** Adds a scenario to the run, in order. */
export type Push = (name: string, fn: () => Promise<string>) => void;

/** An app of the stack, as its Pulumi.<stack>.yaml declares it. */
export interface App {
  readonly name: string;
  readonly repo: string;
  readonly branch?: string;
  readonly path?: string;
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
