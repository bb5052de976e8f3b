/**
 * `npm run e2e`: the program's rendered objects on a real kube-apiserver, reconciled by the real
 * Flux controllers, against a real Git server over SSH. Builds what it runs (e2e/build.sh, cached),
 * starts everything on 127.0.0.1, runs the scenarios, prints a table and stops every process it
 * started. Exit status 0 only when every scenario passed.
 *
 * usage: npm run e2e [-- --stack staging] [--keep] [--allow-blocked]
 *   --keep            keep the work directory (logs, rendered objects, repositories) even on success
 *   --allow-blocked   exit 0 when every scenario passed except those BLOCKED because a controller
 *                     they need cannot be built on this machine (UNAVAILABLE); they stay in the
 *                     table as BLOCKED with the reason, never as PASS
 * env: E2E_PORT_BASE   first of the 12 consecutive loopback ports used (default: the first free
 *                      block of 12 from 24100 in steps of 100)
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import * as yaml from "js-yaml";
import { startCluster } from "./lib/cluster";
import { build, need, NS, type Ports } from "./lib/controllers";
import { appFiles, shippedClusterFiles, standInClusterFiles } from "./lib/fixtures";
import { ed25519, Repo, startGitServer, type KeyPair } from "./lib/git";
import { killAllSync, stopAll } from "./lib/procs";
import { readEnvironments } from "../components/config/environments";
import { FLUX_VERSION } from "../components/config/schema";
import { parsedStackConfig } from "../tools/generate/sops-config";
import { succeeded, table, type Outcome } from "./lib/outcome";
import { render, type K8sObject } from "./lib/render";
import { assertPortFree, freePortBase } from "./lib/util";
import { Blocked, NotRunnable, type Scenario, type ScenarioContext } from "./scenarios/context";
import { pushAppDeliveryScenarios } from "./scenarios/app-delivery";
import { pushAutomationScenarios } from "./scenarios/automation";
import { pushIsolationScenarios } from "./scenarios/isolation";
import { pushPlatformScenarios } from "./scenarios/platform";
import { pushSopsScenario } from "./scenarios/sops";

const ROOT = path.resolve(__dirname, "..");

function log(message: string): void {
  process.stderr.write(`[e2e ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** Every CustomResourceDefinition in the given YAML files. */
function crdsOf(files: string[]): string {
  const docs: unknown[] = [];
  for (const file of files) for (const doc of yaml.loadAll(fs.readFileSync(file, "utf8"))) if ((doc as K8sObject | null)?.kind === "CustomResourceDefinition") docs.push(doc);
  return docs.map((doc) => yaml.dump(doc)).join("---\n");
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { stack: { type: "string", default: "staging" }, keep: { type: "boolean", default: false }, "allow-blocked": { type: "boolean", default: false } } });
  const stack = values.stack ?? "staging";
  const base = process.env.E2E_PORT_BASE !== undefined ? Number(process.env.E2E_PORT_BASE) : await freePortBase(12);
  if (!Number.isInteger(base) || base < 1024 || base > 65_000) throw new Error(`E2E_PORT_BASE: expected an integer from 1024 to 65000, got ${process.env.E2E_PORT_BASE}`);
  const port = {
    etcd: base, etcdPeer: base + 1, apiserver: base + 2, storage: base + 3,
    sourceMetrics: base + 4, sourceHealth: base + 5, kustomizeMetrics: base + 6, kustomizeHealth: base + 7,
    operatorMetrics: base + 8, operatorHealth: base + 9, git: base + 10, registry: base + 11,
  };

  const t0 = Date.now();
  const bins = await build(ROOT);
  const buildSeconds = Math.round((Date.now() - t0) / 1000);
  for (const [what, p] of Object.entries(port)) await assertPortFree(p, what);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "gitops-platform-e2e-"));
  const logDir = path.join(work, "logs");
  fs.mkdirSync(logDir);
  log(`work directory ${work}`);
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping every process the e2e started`);
    void stopAll(5_000).then(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", killAllSync);

  const outcomes: Outcome[] = [];
  try {
    await setUpAndRun(stack, bins, port, work, logDir, outcomes);
  } catch (error) {
    outcomes.push({ name: "setup", result: "FAIL", seconds: 0, detail: error instanceof Error ? error.message : String(error) });
  } finally {
    await stopAll();
  }
  const total = Math.round((Date.now() - t0) / 1000);
  process.stdout.write(table(outcomes, buildSeconds, total));
  const ok = succeeded(outcomes, values["allow-blocked"] ?? false);
  if (ok && !values.keep) fs.rmSync(work, { recursive: true, force: true });
  else log(`logs, rendered objects and repositories kept in ${work}`);
  return ok ? 0 : 1;
}


async function setUpAndRun(stack: string, bins: Record<string, string>, port: Ports, work: string, logDir: string, outcomes: Outcome[]): Promise<void> {
  // Keys: the pinned host key, another one for the pinning scenario, one deploy key per repository.
  const keys = path.join(work, "keys");
  const hostKey = await ed25519(keys, "host-pinned");
  const otherHostKey = await ed25519(keys, "host-other");
  // The stack's config as the program reads it: the apps' branches and paths resolved by the schema.
  const { github, apps } = parsedStackConfig(ROOT, stack);
  const deployKeys = new Map<string, KeyPair>();
  for (const repo of [github.configRepo.repo, ...apps.map((a) => a.repo)]) deployKeys.set(repo, await ed25519(keys, repo.replace("/", "_")));

  log(`rendering stack ${stack} with the e2e overrides`);
  const rendered = await render({ root: ROOT, stack, dir: work, hostKey, gitPort: port.git, registryPort: port.registry, deployKeys });
  fs.writeFileSync(path.join(work, "overrides.txt"), rendered.overrides.join("\n") + "\n");
  const renderedFile = path.join(work, "rendered.yaml");
  fs.writeFileSync(renderedFile, rendered.objects.map((o) => yaml.dump(o)).join("---\n"));

  log("starting etcd and kube-apiserver");
  const { kubectl, kubeconfig } = await startCluster({
    dir: work, logDir, etcd: need(bins, "etcd"), kubeApiserver: need(bins, "kube-apiserver"), kubectlBin: need(bins, "kubectl"),
    etcdPort: port.etcd, etcdPeerPort: port.etcdPeer, apiserverPort: port.apiserver,
  });

  // CRDs: the operator's own, and Flux 2.7.3's from the manifests the operator installs.
  const operatorData = need(bins, "flux-operator-data");
  const operatorCrds = need(bins, "flux-operator-crds");
  const crdFile = path.join(work, "crds.yaml");
  fs.writeFileSync(crdFile, crdsOf([
    ...fs.readdirSync(operatorCrds).map((f) => path.join(operatorCrds, f)),
    ...fs.readdirSync(path.join(operatorData, "flux", `v${FLUX_VERSION}`)).map((f) => path.join(operatorData, "flux", `v${FLUX_VERSION}`, f)),
  ]));
  await kubectl.must(["apply", "--server-side", "-f", crdFile], 120_000);
  await kubectl.must(["wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"], 90_000);

  // Git: the config repository (environment branches) and one repository per app.
  const gitRoot = path.join(work, "git");
  const configRepo = new Repo(gitRoot, github.configRepo.repo);
  const branches: Record<string, Record<string, string>> = {};
  let standIn = false;
  // Every environment branch the stack files name: promotion merges need them side by side.
  for (const env of readEnvironments(ROOT).list.map((e) => e.stack)) {
    const shipped = shippedClusterFiles(ROOT, env);
    if (!shipped) standIn = true;
    branches[env] = shipped ?? standInClusterFiles(env);
  }
  if (standIn) log("this repository ships no clusters/<env>: the config repository gets a minimal stand-in (e2e/lib/fixtures.ts)");
  await configRepo.init(branches);
  const appRepos = new Map<string, Repo>();
  for (const app of apps) {
    const repo = new Repo(gitRoot, app.repo);
    await repo.init({ [app.branch]: appFiles(app.name, app.path, "hello") });
    appRepos.set(app.name, repo);
  }
  const authorized = [...deployKeys.values()].map((k) => k.publicKey);
  const gitServer = { bin: need(bins, "gitserver"), root: gitRoot, port: port.git, authorizedKeys: authorized, logDir };
  await startGitServer("gitserver", { ...gitServer, hostKeyFile: hostKey.file });

  const env = { KUBECONFIG: kubeconfig, RUNTIME_NAMESPACE: NS };
  const scenarios: Scenario[] = [];
  const push = (name: string, fn: () => Promise<string>): void => {
    scenarios.push({ name, run: fn });
  };

  // 7 first: it needs only the rendered namespace.
  let applied = false;
  const applyRendered = async (): Promise<void> => {
    if (applied) return;
    await kubectl.must(["apply", "--server-side", "--field-manager=gitops-platform", "-f", renderedFile], 120_000);
    applied = true;
  };

  const app = apps[0];
  const appRepo = app ? appRepos.get(app.name) : undefined;
  const context: ScenarioContext = {
    root: ROOT, stack, bins, port, work, logDir, kubectl, env, github, apps, standIn, configRepo, gitServer, hostKey, otherHostKey, applyRendered,
    // Without an app, no scenario reads appPath or appBranch (each needs the app and stops first).
    app, appRepo, appPath: app?.path ?? "", appBranch: app?.branch ?? "",
    reconcileApp: async (): Promise<void> => {
      if (!app) return;
      await kubectl.requestReconcile("gitrepository", app.name, NS);
    },
    appliedRevision: (commit: string) => (o: { status?: { lastAppliedRevision?: string } }): boolean => (o.status?.lastAppliedRevision ?? "").endsWith(commit),
  };

  // Run in this order: 7, 1 (which starts the controllers the rest need), 5, 4, 2a, 9, 2b, 3a, 3b, 6, 8, 10.
  pushPlatformScenarios(push, context);
  pushAppDeliveryScenarios(push, context);
  pushSopsScenario(push, context);
  pushAutomationScenarios(push, context);
  pushIsolationScenarios(push, context);
  push("10 Pulumi CLI: stack files, config, secrets; preview up to the provider plugin", () => import("./pulumi-cli.js").then((m) => m.pulumiCliScenario(bins, work)));
  for (const scenario of scenarios) {
    const t = Date.now();
    log(`scenario ${scenario.name}`);
    try {
      const detail = await scenario.run();
      outcomes.push({ name: scenario.name, result: "PASS", seconds: secondsSince(t), detail });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const result = error instanceof Blocked ? "BLOCKED" : "FAIL";
      outcomes.push({ name: scenario.name, result, seconds: secondsSince(t), detail: error instanceof NotRunnable || error instanceof Blocked ? `not run: ${message}` : message });
    }
    log(`  ${outcomes.at(-1)?.result}`);
  }
}

const secondsSince = (t: number): number => Math.round((Date.now() - t) / 100) / 10;
