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
 * env: E2E_PORT_BASE   first of the 12 consecutive loopback ports used (default 24100)
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import * as yaml from "js-yaml";
import { startCluster, waitReady, type Kubectl } from "./lib/cluster";
import { appConfig, appFiles, shippedClusterFiles, standInClusterFiles } from "./lib/fixtures";
import { ed25519, git, Repo, startGitServer, stopGitServer, type KeyPair } from "./lib/git";
import { killAllSync, start, stopAll } from "./lib/procs";
import { render, type K8sObject } from "./lib/render";
import { assertPortFree, must as mustRun, run, seen, waitFor } from "./lib/util";

const ROOT = path.resolve(__dirname, "..");
const NS = "flux-system";

/** Controllers the e2e cannot build, and why: every version of these modules is refused by the Go module proxy. */
const UNAVAILABLE: Record<string, string> = {
  "notification-controller": "github.com/fluxcd/notification-controller is not served by the Go module proxy (403 for every version), so the e2e cannot build it",
  "image-reflector-controller": "github.com/fluxcd/image-reflector-controller is not served by the Go module proxy (403 for every version), so the e2e cannot build it",
  "image-automation-controller": "github.com/fluxcd/image-automation-controller is not served by the Go module proxy (403 for every version), so the e2e cannot build it",
};

class NotRunnable extends Error {}

/** A scenario this machine cannot run because a piece it needs cannot be built here (UNAVAILABLE). */
class Blocked extends Error {}

interface Scenario {
  readonly name: string;
  readonly run: () => Promise<string>;
}

interface Outcome {
  readonly name: string;
  readonly result: "PASS" | "FAIL" | "BLOCKED";
  readonly seconds: number;
  readonly detail: string;
}

function log(message: string): void {
  process.stderr.write(`[e2e ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

async function build(): Promise<Record<string, string>> {
  const result = await run("bash", [path.join(ROOT, "e2e", "build.sh")], { timeoutMs: 80 * 60_000 });
  process.stderr.write(result.stderr);
  if (result.code !== 0) throw new Error(`e2e/build.sh exited ${result.code}`);
  const bins: Record<string, string> = {};
  for (const line of result.stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) bins[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return bins;
}

function need(bins: Record<string, string>, name: string): string {
  const value = bins[name];
  if (!value) throw new Error(`e2e/build.sh printed no path for ${name}`);
  return value;
}

/** Every CustomResourceDefinition in the given YAML files. */
function crdsOf(files: string[]): string {
  const docs: unknown[] = [];
  for (const file of files) for (const doc of yaml.loadAll(fs.readFileSync(file, "utf8"))) if ((doc as K8sObject | null)?.kind === "CustomResourceDefinition") docs.push(doc);
  return docs.map((doc) => yaml.dump(doc)).join("---\n");
}

/** Flags of a container in the cluster's Deployment, minus the ones the e2e must set itself. */
async function deploymentArgs(kubectl: Kubectl, name: string, drop: RegExp): Promise<string[]> {
  const deployment = await kubectl.get("deployment", name, NS);
  const containers = (deployment?.spec as { template?: { spec?: { containers?: { args?: string[] }[] } } } | undefined)?.template?.spec?.containers;
  const args = containers?.[0]?.args;
  if (!args) throw new Error(`Deployment ${NS}/${name} has no container args`);
  return args.filter((arg) => !drop.test(arg));
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { stack: { type: "string", default: "staging" }, keep: { type: "boolean", default: false }, "allow-blocked": { type: "boolean", default: false } } });
  const stack = values.stack ?? "staging";
  const base = Number(process.env.E2E_PORT_BASE ?? "24100");
  if (!Number.isInteger(base) || base < 1024 || base > 65_000) throw new Error(`E2E_PORT_BASE: expected an integer from 1024 to 65000, got ${process.env.E2E_PORT_BASE}`);
  const port = {
    etcd: base, etcdPeer: base + 1, apiserver: base + 2, storage: base + 3,
    sourceMetrics: base + 4, sourceHealth: base + 5, kustomizeMetrics: base + 6, kustomizeHealth: base + 7,
    operatorMetrics: base + 8, operatorHealth: base + 9, git: base + 10, registry: base + 11,
  };

  const t0 = Date.now();
  const bins = await build();
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
  printTable(outcomes, buildSeconds, total);
  const accepted = new Set(values["allow-blocked"] ? ["PASS", "BLOCKED"] : ["PASS"]);
  const ok = outcomes.some((o) => o.result === "PASS") && outcomes.every((o) => accepted.has(o.result));
  if (ok && !values.keep) fs.rmSync(work, { recursive: true, force: true });
  else log(`logs, rendered objects and repositories kept in ${work}`);
  return ok ? 0 : 1;
}

function printTable(outcomes: Outcome[], buildSeconds: number, total: number): void {
  const width = Math.max(8, ...outcomes.map((o) => o.name.length));
  const lines = [`${"scenario".padEnd(width)}  result  seconds  detail`];
  for (const o of outcomes) lines.push(`${o.name.padEnd(width)}  ${o.result.padEnd(6)}  ${String(o.seconds).padStart(7)}  ${o.detail.replace(/\s+/g, " ").slice(0, 400)}`);
  const count = (r: Outcome["result"]): number => outcomes.filter((o) => o.result === r).length;
  const blocked = count("BLOCKED");
  lines.push("", `build ${buildSeconds}s, total ${total}s`);
  if (blocked > 0) lines.push(`skipped: ${blocked} BLOCKED scenario(s) cannot run on this machine (see detail); they did not pass`);
  lines.push(`${count("PASS")} passed, ${count("FAIL")} failed${blocked > 0 ? `, ${blocked} skipped` : ""}`);
  process.stdout.write(lines.join("\n") + "\n");
}

type Ports = Record<"etcd" | "etcdPeer" | "apiserver" | "storage" | "sourceMetrics" | "sourceHealth" | "kustomizeMetrics" | "kustomizeHealth" | "operatorMetrics" | "operatorHealth" | "git" | "registry", number>;

async function setUpAndRun(stack: string, bins: Record<string, string>, port: Ports, work: string, logDir: string, outcomes: Outcome[]): Promise<void> {
  // Keys: the pinned host key, another one for the pinning scenario, one deploy key per repository.
  const keys = path.join(work, "keys");
  const hostKey = await ed25519(keys, "host-pinned");
  const otherHostKey = await ed25519(keys, "host-other");
  const stackDoc = yaml.load(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
  const github = stackDoc.config["gitops-platform:github"] as { configRepo: { repo: string; branch: string } };
  const apps = (stackDoc.config["gitops-platform:apps"] ?? []) as { name: string; repo: string; branch?: string; path?: string; imageAutomation?: { pushBranch?: string } }[];
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
    ...fs.readdirSync(path.join(operatorData, "flux", "v2.7.3")).map((f) => path.join(operatorData, "flux", "v2.7.3", f)),
  ]));
  await kubectl.must(["apply", "--server-side", "-f", crdFile], 120_000);
  await kubectl.must(["wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"], 90_000);

  // Git: the config repository (environment branches) and one repository per app.
  const gitRoot = path.join(work, "git");
  const configRepo = new Repo(gitRoot, github.configRepo.repo);
  const branches: Record<string, Record<string, string>> = {};
  let standIn = false;
  for (const env of ["staging", "prod"]) {
    const shipped = shippedClusterFiles(ROOT, env);
    if (!shipped) standIn = true;
    branches[env] = shipped ?? standInClusterFiles(env);
  }
  if (standIn) log("this repository ships no clusters/<env>: the config repository gets a minimal stand-in (e2e/lib/fixtures.ts)");
  await configRepo.init(branches);
  const appRepos = new Map<string, Repo>();
  for (const app of apps) {
    const repo = new Repo(gitRoot, app.repo);
    await repo.init({ [app.branch ?? "main"]: appFiles(app.name, app.path ?? `deploy/${stack}`, "hello") });
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

  push("7 Pod Security: privileged Pod in flux-system refused", async () => {
    await applyRendered();
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "e2e-privileged", namespace: NS }, spec: { containers: [{ name: "c", image: "busybox", securityContext: { privileged: true } }] } };
    const result = await kubectl.run(["create", "-f", "-"], 30_000, JSON.stringify(pod));
    const message = (result.stderr + result.stdout).trim();
    if (result.code === 0) throw new Error(`the privileged Pod was admitted: ${message}`);
    if (!/violates PodSecurity "restricted:/.test(message) || !/privileged/.test(message)) throw new Error(`refused, but not by Pod Security admission: ${message}`);
    // Control: the same Pod in a namespace without the labels is admitted, so the labels refused it.
    await kubectl.must(["create", "namespace", "e2e-psa-control"]);
    const control = await kubectl.run(["create", "-f", "-"], 30_000, JSON.stringify({ ...pod, metadata: { name: "e2e-privileged", namespace: "e2e-psa-control" } }));
    if (control.code !== 0) throw new Error(`control Pod in an unlabelled namespace refused too: ${control.stderr.trim()}`);
    await kubectl.must(["delete", "namespace", "e2e-psa-control", "--wait=false"]);
    return message.replace(/^Error from server \(Forbidden\): error when creating "STDIN": /, "").slice(0, 120) + "…; admitted in an unlabelled namespace";
  });

  push("1 environment sync Ready from the rendered objects", async () => {
    await applyRendered();
    await startOperator(bins, env, port, logDir);
    await waitReady(kubectl, "fluxinstance", "flux", NS, 180_000);
    await startControllers(kubectl, bins, env, port, logDir, work);
    const repoObj = await waitReady(kubectl, "gitrepository", "flux-system", NS, 180_000);
    await waitReady(kubectl, "kustomization", "flux-system", NS, 180_000);
    for (const app of apps) {
      await waitReady(kubectl, "gitrepository", app.name, NS, 180_000);
      await waitReady(kubectl, "kustomization", app.name, NS, 180_000);
      await waitFor(`ConfigMap ${app.name}/${app.name}-config applied`, 30_000, async () => (await kubectl.get("configmap", `${app.name}-config`, app.name)) ?? seen("absent"));
    }
    if (standIn) {
      const marker = await waitFor("the stand-in marker ConfigMap", 30_000, async () => (await kubectl.get("configmap", "e2e-platform-marker", NS)) ?? seen("absent"));
      if (marker.data?.environment !== stack || !/^account-\d{12}$/.test(marker.data.account ?? "")) {
        throw new Error(`postBuild substitution: environment=${marker.data?.environment} account=${marker.data?.account}, expected ${stack} and account-<12 digits>`);
      }
    }
    return `flux-system at ${repoObj.status?.artifact?.revision ?? "?"}; ${apps.map((a) => a.name).join(", ") || "no apps"} Ready${standIn ? " (config repo: stand-in clusters/, see note)" : ""}`;
  });

  const app = apps[0];
  const appRepo = app ? appRepos.get(app.name) : undefined;
  const appPath = app?.path ?? `deploy/${stack}`;
  const appBranch = app?.branch ?? "main";
  const reconcileApp = async (): Promise<void> => {
    if (!app) return;
    await kubectl.requestReconcile("gitrepository", app.name, NS);
  };
  const appliedRevision = (commit: string) => (o: { status?: { lastAppliedRevision?: string } }): boolean => (o.status?.lastAppliedRevision ?? "").endsWith(commit);

  push("5 in-cluster drift corrected", async () => {
    if (!app) throw new NotRunnable("the stack has no app");
    await kubectl.must(["patch", "configmap", `${app.name}-config`, "-n", app.name, "--type=merge", "-p", '{"data":{"greeting":"edited-by-hand"}}']);
    await kubectl.must(["delete", "deployment", app.name, "-n", app.name, "--wait=false"]);
    await kubectl.requestReconcile("kustomization", app.name, NS);
    await waitFor(`Deployment ${app.name}/${app.name} recreated and the ConfigMap edit undone`, 90_000, async () => {
      const cm = await kubectl.get("configmap", `${app.name}-config`, app.name);
      const dep = await kubectl.get("deployment", app.name, app.name);
      return cm?.data?.greeting === "hello" && dep ? true : seen(`greeting=${cm?.data?.greeting}, deployment ${dep ? "present" : "absent"}`);
    });
    return "ConfigMap edit reverted, deleted Deployment recreated";
  });

  push("4 git revert restores the previous state", async () => {
    if (!app || !appRepo) throw new NotRunnable("the stack has no app");
    appRepo.write({ [`${appPath}/config.yaml`]: appConfig(app.name, "bad-change") + `---\n${appConfig(`${app.name}-bad`, "x").replace(new RegExp(`namespace: ${app.name}-bad`), `namespace: ${app.name}`)}` });
    const bad = await appRepo.commit("a bad change", appBranch);
    await reconcileApp();
    await waitReady(kubectl, "kustomization", app.name, NS, 120_000, appliedRevision(bad));
    const during = await kubectl.get("configmap", `${app.name}-config`, app.name);
    if (during?.data?.greeting !== "bad-change") throw new Error(`bad commit not applied: greeting=${during?.data?.greeting}`);
    const revert = await appRepo.revertHead(appBranch);
    await reconcileApp();
    await waitReady(kubectl, "kustomization", app.name, NS, 120_000, appliedRevision(revert));
    const after = await kubectl.get("configmap", `${app.name}-config`, app.name);
    const extra = await kubectl.get("configmap", `${app.name}-bad-config`, app.name);
    if (after?.data?.greeting !== "hello") throw new Error(`after revert greeting=${after?.data?.greeting}, expected hello`);
    if (extra) throw new Error(`the object the bad commit added (${app.name}-bad-config) was not pruned`);
    return `bad ${bad.slice(0, 7)} applied, revert ${revert.slice(0, 7)} restored greeting and pruned the added object`;
  });

  push("2a commit to the app deploy path applied", async () => {
    if (!app || !appRepo) throw new NotRunnable("the stack has no app");
    // Not all digits: YAML would read that as a number, and ConfigMap data must be strings.
    const value = `release-${crypto.randomBytes(4).toString("hex")}`;
    appRepo.write({ [`${appPath}/config.yaml`]: appConfig(app.name, "hello", { release: value }) });
    const commit = await appRepo.commit("release", appBranch);
    const t = Date.now();
    await reconcileApp();
    await waitReady(kubectl, "kustomization", app.name, NS, 120_000, appliedRevision(commit));
    const cm = await kubectl.get("configmap", `${app.name}-config`, app.name);
    if (cm?.data?.release !== value) throw new Error(`release=${cm?.data?.release}, expected ${value}`);
    return `commit ${commit.slice(0, 7)} applied ${((Date.now() - t) / 1000).toFixed(1)}s after the reconcile request (GitRepository annotation)`;
  });

  // An age key stands in for KMS. The rendered app Kustomization decrypts with
  // `decryption.provider: sops` and kustomize-controller's own AWS identity (IRSA); here the e2e
  // adds `secretRef: sops-age` (an age key in the Kustomization's namespace) instead.
  push("9 SOPS: an app's encrypted Secret is decrypted into its namespace; a tampered one is refused", async () => {
    if (!app || !appRepo) throw new NotRunnable("the stack has no app");
    const keyFile = path.join(work, "keys", "age.agekey");
    await mustRun(need(bins, "age-keygen"), ["-o", keyFile]);
    const recipient = /^# public key: (age1[0-9a-z]+)$/m.exec(fs.readFileSync(keyFile, "utf8"))?.[1];
    if (!recipient) throw new Error(`age-keygen wrote no public key to ${keyFile}`);
    // The controller reads keys ending in .agekey from the decryption Secret (kustomize-controller
    // v1.7.2 internal/decryptor: DecryptionAgeExt).
    await kubectl.must(["create", "secret", "generic", "sops-age", "-n", NS, `--from-file=age.agekey=${keyFile}`]);
    await kubectl.must(["patch", "kustomization", app.name, "-n", NS, "--type=merge", "-p", JSON.stringify({ spec: { decryption: { provider: "sops", secretRef: { name: "sops-age" } } } })]);
    const password = `pw-${crypto.randomBytes(6).toString("hex")}`;
    const plain = path.join(work, "keys", "db.yaml");
    fs.writeFileSync(
      plain,
      [
        "apiVersion: v1",
        "kind: Secret",
        "metadata:",
        `  name: ${app.name}-db`,
        `  namespace: ${app.name}`,
        // What docs/secrets.md asks of every SOPS Secret: no postBuild substitution inside it.
        "  annotations: {kustomize.toolkit.fluxcd.io/substitute: disabled}",
        "stringData:",
        `  password: ${password}`,
        "",
      ].join("\n"),
    );
    // Run from the work directory: no .sops.yaml of this repository applies, only the flags.
    const encrypted = await mustRun(need(bins, "sops"), ["--encrypt", "--age", recipient, "--encrypted-regex", "^(data|stringData)$", plain], { cwd: path.dirname(plain) });
    if (encrypted.includes(password)) throw new Error("sops left the password in plaintext");
    const kustomization = fs.readFileSync(path.join(appRepo.work, appPath, "kustomization.yaml"), "utf8");
    appRepo.write({ [`${appPath}/db.yaml`]: encrypted, [`${appPath}/kustomization.yaml`]: `${kustomization}  - db.yaml\n` });
    const good = await appRepo.commit("an encrypted Secret", appBranch);
    await reconcileApp();
    await waitReady(kubectl, "kustomization", app.name, NS, 120_000, appliedRevision(good));
    const secret = await kubectl.get("secret", `${app.name}-db`, app.name);
    const decoded = Buffer.from((secret as { data?: Record<string, string> } | undefined)?.data?.password ?? "", "base64").toString();
    if (decoded !== password) throw new Error(`Secret ${app.name}/${app.name}-db password is ${JSON.stringify(decoded)}, expected the plaintext before encryption`);
    // Tamper: change one character of the ciphertext; the MAC check must refuse the whole file.
    const tampered = encrypted.replace(/(password: ENC\[AES256_GCM,data:)(.)/, (_m, head: string, c: string) => `${head}${c === "A" ? "B" : "A"}`);
    if (tampered === encrypted) throw new Error("found no ciphertext to tamper with");
    appRepo.write({ [`${appPath}/db.yaml`]: tampered });
    const bad = await appRepo.commit("a tampered Secret", appBranch);
    try {
      await reconcileApp();
      const refused = await waitFor(`Kustomization ${NS}/${app.name} to refuse ${bad.slice(0, 7)}`, 120_000, async () => {
        const o = await kubectl.get("kustomization", app.name, NS);
        const ready = o?.status?.conditions?.find((c) => c.type === "Ready");
        if (o?.status?.lastAppliedRevision?.endsWith(bad)) throw new Error(`the tampered Secret was applied: ${ready?.message ?? ""}`);
        return ready?.status === "False" && o?.status?.lastAttemptedRevision?.endsWith(bad) ? ready : seen(`Ready=${ready?.status} ${ready?.message ?? ""}`);
      });
      if (!/decrypt/i.test(refused.message ?? "")) throw new Error(`refused, but not by decryption: ${refused.message}`);
      const still = await kubectl.get("secret", `${app.name}-db`, app.name);
      const after = Buffer.from((still as { data?: Record<string, string> } | undefined)?.data?.password ?? "", "base64").toString();
      if (after !== password) throw new Error(`the applied Secret changed after the refused commit: ${JSON.stringify(after)}`);
      return `decrypted into ${app.name}/${app.name}-db at ${good.slice(0, 7)}; tampered ${bad.slice(0, 7)}: ${refused.reason ?? ""}: ${(refused.message ?? "").slice(0, 110)}`;
    } finally {
      await appRepo.revertHead(appBranch);
      await reconcileApp();
    }
  });

  push("2b GitHub-signed webhook to the Receiver triggers a reconcile", () => Promise.reject(new Blocked(UNAVAILABLE["notification-controller"])));
  // The delivery half of scenario 3, with the real kustomize-controller: the tag line that image
  // automation rewrites (clusters/base/<app>-image.yaml) reaches the app's Deployment only once it
  // is merged into the environment's branch — from the automation branch on staging, by the
  // promotion merge elsewhere. The first half (a pushed image becomes that commit) needs the image
  // controllers: 3b.
  push("3a tag bump merged into the environment branch reaches the Deployment", async () => {
    if (!app) throw new NotRunnable("the stack has no app");
    const envBranch = github.configRepo.branch;
    const source = app.imageAutomation?.pushBranch ?? upstreamBranch(ROOT, stack);
    const tagFile = `clusters/base/${app.name}-image.yaml`;
    const current = await configRepo.show(envBranch, tagFile);
    const marker = new RegExp(`^(\\s*IMAGE_TAG:\\s*)"(\\d+)\\.(\\d+)\\.(\\d+)"(\\s*# \\{"\\$imagepolicy": "${NS}:${app.name}:tag"\\})$`, "m");
    const m = marker.exec(current);
    if (!m) throw new Error(`${tagFile} on ${envBranch} has no setter-marked IMAGE_TAG line`);
    const [, , major, minor, patch] = m;
    const oldTag = `${major}.${minor}.${patch}`;
    const newTag = `${major}.${minor}.${Number(patch) + 1}`;
    const image = async (): Promise<string> => {
      const deployment = await kubectl.get("deployment", app.name, app.name);
      const containers = (deployment?.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined)?.template?.spec?.containers;
      return containers?.[0]?.image ?? "absent";
    };
    const before = await image();
    if (!before.endsWith(`:${oldTag}`)) throw new Error(`Deployment ${app.name}/${app.name} runs ${before}, expected the tag ${oldTag} of ${tagFile}`);

    // The bump lands on the source branch first (image automation's push, or staging's own merge).
    if (source === app.imageAutomation?.pushBranch) await configRepo.branchFrom(source, envBranch);
    configRepo.write({ [tagFile]: current.replace(marker, (_l, head: string, _a, _b, _c, tail: string) => `${head}"${newTag}"${tail}`) });
    const bump = await configRepo.commit(`chore: ${app.name} ${newTag}`, source);
    const token = await kubectl.requestReconcile("gitrepository", "flux-system", NS);
    await kubectl.handled("gitrepository", "flux-system", NS, token, 60_000);
    await kubectl.handled("kustomization", "flux-system", NS, await kubectl.requestReconcile("kustomization", "flux-system", NS), 60_000);
    const unmerged = await image();
    if (unmerged !== before) throw new Error(`the bump on ${source} (${bump.slice(0, 7)}) reached the Deployment before any merge into ${envBranch}: ${unmerged}`);

    const merge = await configRepo.merge(source, envBranch, `Merge ${source} into ${envBranch}`);
    const t = Date.now();
    await kubectl.requestReconcile("gitrepository", "flux-system", NS);
    const after = await waitFor(`Deployment ${app.name}/${app.name} to run the tag ${newTag}`, 120_000, async () => {
      const now = await image();
      return now.endsWith(`:${newTag}`) ? now : seen(now);
    });
    return `${before} → ${after}: unchanged while the bump sat on ${source}, ${((Date.now() - t) / 1000).toFixed(1)}s after the merge ${merge.slice(0, 7)} into ${envBranch}`;
  });

  push("3b pushed image tag becomes a commit on the automation branch", () =>
    Promise.reject(new Blocked(`${UNAVAILABLE["image-reflector-controller"]}; ${UNAVAILABLE["image-automation-controller"]}`)),
  );

  push("6 tenancy: app cannot bind cluster roles or write flux-system", async () => {
    if (!app || !appRepo) throw new NotRunnable("the stack has no app");
    const escalation = [
      "apiVersion: rbac.authorization.k8s.io/v1",
      "kind: ClusterRoleBinding",
      "metadata:",
      "  name: e2e-tenant-escalation",
      "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}",
      `subjects: [{kind: ServiceAccount, name: default, namespace: ${app.name}}]`,
      "---",
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata:",
      "  name: e2e-tenant-intrusion",
      `  namespace: ${NS}`,
      "data: {x: y}",
      "",
    ].join("\n");
    // Precondition: the app is Ready at its current head, so a failure below is this commit's.
    const head = (await git(appRepo.work, "rev-parse", "HEAD")).trim();
    await reconcileApp();
    await waitReady(kubectl, "kustomization", app.name, NS, 120_000, appliedRevision(head));
    const kustomization = fs.readFileSync(path.join(appRepo.work, appPath, "kustomization.yaml"), "utf8");
    appRepo.write({ [`${appPath}/escalation.yaml`]: escalation, [`${appPath}/kustomization.yaml`]: `${kustomization}  - escalation.yaml\n` });
    const commit = await appRepo.commit("try to escape the tenant", appBranch);
    try {
      await reconcileApp();
      const status = await waitFor(`Kustomization ${NS}/${app.name} to reconcile ${commit.slice(0, 7)}`, 120_000, async () => {
        const o = await kubectl.get("kustomization", app.name, NS);
        const ready = o?.status?.conditions?.find((c) => c.type === "Ready");
        if (o?.status?.lastAppliedRevision?.endsWith(commit)) return { applied: true, message: ready?.message ?? "" };
        if (ready?.status === "False" && o?.status?.lastAttemptedRevision?.endsWith(commit)) return { applied: false, message: ready.message ?? "" };
        return seen(`Ready=${ready?.status} ${ready?.message ?? ""}`);
      });
      const crb = await kubectl.get("clusterrolebinding", "e2e-tenant-escalation");
      const intrusion = await kubectl.get("configmap", "e2e-tenant-intrusion", NS);
      if (status.applied || crb || intrusion) {
        throw new Error(
          `not confined: ${crb ? "ClusterRoleBinding e2e-tenant-escalation was created" : ""}${crb && intrusion ? " and " : ""}${intrusion ? `ConfigMap ${NS}/e2e-tenant-intrusion was written` : ""}` +
            ` (the rendered Kustomization ${app.name} has no serviceAccountName/targetNamespace, so kustomize-controller applies it with its own rights)`,
        );
      }
      if (!/ClusterRoleBinding\/e2e-tenant-escalation|ConfigMap\/flux-system\/e2e-tenant-intrusion/.test(status.message)) {
        throw new Error(`Kustomization ${app.name} failed, but not on the tenant's escalation objects: ${status.message}`);
      }
      return `refused: ${status.message}`;
    } finally {
      // Put the app repository back so later scenarios start clean.
      await appRepo.revertHead(appBranch);
      await reconcileApp();
    }
  });

  push("8 host key pinning: a server with another host key is refused", async () => {
    if (!app) throw new NotRunnable("the stack has no app");
    await stopGitServer("gitserver");
    await startGitServer("gitserver-other-key", { ...gitServer, hostKeyFile: otherHostKey.file });
    try {
      await kubectl.requestReconcile("gitrepository", app.name, NS);
      const ready = await waitFor(`GitRepository ${NS}/${app.name} to report the host key mismatch`, 90_000, async () => {
        const c = await kubectl.condition("gitrepository", app.name, NS);
        // fluxcd/pkg ssh/v0.22.0 knownhosts returns x/crypto's KeyError: "knownhosts: key mismatch".
        return c?.status === "False" && (c.message ?? "").includes("knownhosts: key mismatch") ? c : seen(`Ready=${c?.status} ${c?.message ?? ""}`);
      });
      return `${ready.reason ?? ""}: ${ready.message ?? ""}`;
    } finally {
      await stopGitServer("gitserver-other-key");
      await startGitServer("gitserver", { ...gitServer, hostKeyFile: hostKey.file });
    }
  });

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

/**
 * The branch whose merge promotes into `stack`'s branch: the one non-production stack besides it.
 */
function upstreamBranch(root: string, stack: string): string {
  const others = fs
    .readdirSync(root)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined && s !== stack)
    .map((s) => (yaml.load(fs.readFileSync(path.join(root, `Pulumi.${s}.yaml`), "utf8")) as { config: Record<string, unknown> }).config)
    .filter((c) => c["gitops-platform:production"] !== true);
  const branches = others.map((c) => (c["gitops-platform:github"] as { configRepo: { branch: string } }).configRepo.branch);
  if (branches.length !== 1) throw new NotRunnable(`stack ${stack} has no image automation and ${branches.length} non-production stacks could promote into it`);
  return branches[0] as string;
}

const secondsSince = (t: number): number => Math.round((Date.now() - t) / 100) / 10;

async function startOperator(bins: Record<string, string>, env: NodeJS.ProcessEnv, port: Ports, logDir: string): Promise<void> {
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
async function startControllers(kubectl: Kubectl, bins: Record<string, string>, env: NodeJS.ProcessEnv, port: Ports, logDir: string, work: string): Promise<void> {
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
