/**
 * The e2e's controllers as local processes: the binaries e2e/build.sh builds (cached), the Flux
 * Operator, and source- and kustomize-controller started with the flags of the Deployments the
 * operator rendered, on loopback ports.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FLUX_NAMESPACE } from "../../policies/vocabulary";
import type { Kubectl } from "./cluster";
import { start } from "./procs";
import { run, seen, waitFor } from "./util";

/** The namespace the reconciler runs in: the default, which no stack file overrides. */
export const NS = FLUX_NAMESPACE;

/** The loopback ports the e2e uses (E2E_PORT_BASE and the 11 after it). */
export type Ports = Record<"etcd" | "etcdPeer" | "apiserver" | "storage" | "sourceMetrics" | "sourceHealth" | "kustomizeMetrics" | "kustomizeHealth" | "operatorMetrics" | "operatorHealth" | "git" | "registry", number>;

/**
 * Runs e2e/build.sh (cached) and returns the paths it printed, by name. `root` is the repository
 * root: the caller's, since a bundled module's __dirname is its entry's directory.
 */
export async function build(root: string): Promise<Record<string, string>> {
  const result = await run("bash", [path.join(root, "e2e", "build.sh")], { timeoutMs: 80 * 60_000 });
  process.stderr.write(result.stderr);
  if (result.code !== 0) throw new Error(`e2e/build.sh exited ${result.code}`);
  const bins: Record<string, string> = {};
  for (const line of result.stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) bins[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return bins;
}

/** The path e2e/build.sh printed for `name`. */
export function need(bins: Record<string, string>, name: string): string {
  const value = bins[name];
  if (!value) throw new Error(`e2e/build.sh printed no path for ${name}`);
  return value;
}

/** Flags of a container in the cluster's Deployment, minus the ones the e2e must set itself. */
async function deploymentArgs(kubectl: Kubectl, name: string, drop: RegExp): Promise<string[]> {
  const deployment = await kubectl.get("deployment", name, NS);
  const containers = (deployment?.spec as { template?: { spec?: { containers?: { args?: string[] }[] } } } | undefined)?.template?.spec?.containers;
  const args = containers?.[0]?.args;
  if (!args) throw new Error(`Deployment ${NS}/${name} has no container args`);
  return args.filter((arg) => !drop.test(arg));
}

/** Starts the Flux Operator and waits for its health endpoint. */
export async function startOperator(bins: Record<string, string>, env: NodeJS.ProcessEnv, port: Ports, logDir: string): Promise<void> {
  // KUBERNETES_SERVICE_HOST stays unset: the operator's preflight OS check runs only in a pod.
  start("flux-operator", need(bins, "flux-operator"), [
    "--enable-leader-election=false",
    `--storage-path=${need(bins, "flux-operator-data")}`,
    "--web-server-port=0",
    `--metrics-addr=127.0.0.1:${port.operatorMetrics}`,
    `--health-addr=127.0.0.1:${port.operatorHealth}`,
  ], { logDir, env });
  await waitFor(`flux-operator healthz on 127.0.0.1:${port.operatorHealth}`, 60_000, async () => {
    const response = await fetch(`http://127.0.0.1:${port.operatorHealth}/healthz`).catch((e: Error) => seen(e.message));
    return response.ok ? true : seen(`HTTP ${response.status}`);
  });
}

/**
 * Runs source- and kustomize-controller as local processes with the flags of the Deployments the
 * operator rendered, minus the in-cluster addresses, leader election and storage path, plus
 * loopback addresses.
 */
export async function startControllers(kubectl: Kubectl, bins: Record<string, string>, env: NodeJS.ProcessEnv, port: Ports, logDir: string, work: string): Promise<void> {
  const drop = /^--(enable-leader-election|events-addr|storage-path|storage-adv-addr|storage-addr|metrics-addr|health-addr)(=|$)/;
  const storage = path.join(work, "artifacts");
  fs.mkdirSync(storage);
  start("source-controller", need(bins, "source-controller"), [
    ...(await deploymentArgs(kubectl, "source-controller", drop)),
    `--storage-path=${storage}`,
    `--storage-addr=127.0.0.1:${port.storage}`,
    `--storage-adv-addr=127.0.0.1:${port.storage}`,
    `--metrics-addr=127.0.0.1:${port.sourceMetrics}`,
    `--health-addr=127.0.0.1:${port.sourceHealth}`,
  ], { logDir, env });
  start("kustomize-controller", need(bins, "kustomize-controller"), [
    ...(await deploymentArgs(kubectl, "kustomize-controller", drop)),
    `--metrics-addr=127.0.0.1:${port.kustomizeMetrics}`,
    `--health-addr=127.0.0.1:${port.kustomizeHealth}`,
  ], { logDir, env });
  for (const [name, p] of [["source-controller", port.sourceHealth], ["kustomize-controller", port.kustomizeHealth]] as const) {
    await waitFor(`${name} healthz on 127.0.0.1:${p}`, 60_000, async () => {
      const response = await fetch(`http://127.0.0.1:${p}/healthz`).catch((e: Error) => seen(e.message));
      return response.ok ? true : seen(`HTTP ${response.status}`);
    });
  }
}
