/**
 * A Kubernetes control plane on loopback: etcd and kube-apiserver, with certificates made by
 * openssl, RBAC authorization and the default admission plugins (PodSecurity among them). There is
 * no kubelet and no kube-controller-manager: the e2e judges GitOps by the objects the API server
 * holds. The ServiceAccount admission plugin is off because nothing creates default ServiceAccounts
 * (the flag set controller-runtime's envtest uses, pkg/internal/testing/controlplane/apiserver.go).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { start } from "./procs";
import { must, run, seen, waitFor } from "./util";

export interface Cluster {
  /** kubeconfig of a cluster admin (client certificate in system:masters). */
  readonly kubeconfig: string;
  readonly kubectl: Kubectl;
}

export interface ClusterOptions {
  readonly dir: string;
  readonly logDir: string;
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubectlBin: string;
  readonly etcdPort: number;
  readonly etcdPeerPort: number;
  readonly apiserverPort: number;
}

async function openssl(args: readonly string[], cwd: string): Promise<void> {
  await must("openssl", args, { cwd });
}

/** A CA, the API server's serving certificate, an admin client certificate and the SA key pair. */
async function makePki(dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=gitops-platform-e2e-ca"], dir);
  const leaf = async (name: string, subject: string, ext: string): Promise<void> => {
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    await openssl(["req", "-new", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject], dir);
    await openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-out", `${name}.crt`, "-extfile", `${name}.ext`], dir);
  };
  await leaf("apiserver", "/CN=kube-apiserver", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n");
  await leaf("admin", "/O=system:masters/CN=gitops-platform-e2e-admin", "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n");
  await openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.key"], dir);
  await openssl(["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const pki = path.join(options.dir, "pki");
  await makePki(pki);
  const etcdUrl = `http://127.0.0.1:${options.etcdPort}`;
  const peerUrl = `http://127.0.0.1:${options.etcdPeerPort}`;
  start("etcd", options.etcd, [
    "--name=e2e",
    `--data-dir=${path.join(options.dir, "etcd")}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=e2e=${peerUrl}`,
    "--unsafe-no-fsync",
  ], { logDir: options.logDir });
  await waitFor(`etcd to answer ${etcdUrl}/health`, 60_000, async () => {
    const response = await fetch(`${etcdUrl}/health`).catch((error: Error) => seen(error.message));
    const body = await response.text();
    return /"health":\s*"true"/.test(body) ? true : seen(body);
  });

  const server = `https://127.0.0.1:${options.apiserverPort}`;
  start("kube-apiserver", options.kubeApiserver, [
    `--etcd-servers=${etcdUrl}`,
    `--cert-dir=${pki}`,
    `--tls-cert-file=${path.join(pki, "apiserver.crt")}`,
    `--tls-private-key-file=${path.join(pki, "apiserver.key")}`,
    `--client-ca-file=${path.join(pki, "ca.crt")}`,
    `--secure-port=${options.apiserverPort}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    "--service-cluster-ip-range=10.0.0.0/24",
    "--authorization-mode=RBAC",
    `--service-account-issuer=${server}/`,
    `--service-account-key-file=${path.join(pki, "sa.pub")}`,
    `--service-account-signing-key-file=${path.join(pki, "sa.key")}`,
    "--allow-privileged=true",
    "--disable-admission-plugins=ServiceAccount",
  ], { logDir: options.logDir });

  const kubeconfig = path.join(options.dir, "admin.kubeconfig");
  fs.writeFileSync(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: e2e",
      "  cluster:",
      `    server: ${server}`,
      `    certificate-authority: ${path.join(pki, "ca.crt")}`,
      "users:",
      "- name: admin",
      "  user:",
      `    client-certificate: ${path.join(pki, "admin.crt")}`,
      `    client-key: ${path.join(pki, "admin.key")}`,
      "contexts:",
      "- name: e2e",
      "  context: {cluster: e2e, user: admin}",
      "current-context: e2e",
      "",
    ].join("\n"),
  );
  const kubectl = new Kubectl(options.kubectlBin, kubeconfig);
  await waitFor(`kube-apiserver to report ${server}/readyz ok`, 120_000, async () => {
    const result = await kubectl.run(["get", "--raw", "/readyz"], 10_000);
    return result.code === 0 && result.stdout.trim() === "ok" ? true : seen(result.stderr || result.stdout);
  }, 1000);
  return { kubeconfig, kubectl };
}

/** The parts of an object the scenarios read. */
export interface KubeObject {
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly annotations?: Record<string, string>; readonly labels?: Record<string, string> };
  readonly spec?: { readonly replicas?: number; readonly [key: string]: unknown };
  readonly status?: { readonly conditions?: Condition[]; readonly artifact?: { readonly revision?: string }; readonly lastAppliedRevision?: string; readonly lastAttemptedRevision?: string; readonly lastHandledReconcileAt?: string };
  readonly data?: Record<string, string>;
}

export interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

/** kubectl against the e2e cluster, every call bounded. */
export class Kubectl {
  constructor(
    readonly bin: string,
    readonly kubeconfig: string,
  ) {}

  run(args: readonly string[], timeoutMs = 60_000, input?: string) {
    return run(this.bin, ["--kubeconfig", this.kubeconfig, ...args], { timeoutMs, ...(input !== undefined ? { input } : {}) });
  }

  async must(args: readonly string[], timeoutMs = 60_000, input?: string): Promise<string> {
    const result = await this.run(args, timeoutMs, input);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${(result.stderr || result.stdout).trim()}`);
    return result.stdout;
  }

  /** The object as JSON, or undefined when it does not exist. */
  async get(kind: string, name: string, namespace?: string): Promise<KubeObject | undefined> {
    const result = await this.run(["get", kind, name, ...(namespace ? ["-n", namespace] : []), "-o", "json"]);
    if (result.code !== 0) {
      if (/NotFound|not found/.test(result.stderr)) return undefined;
      throw new Error(`kubectl get ${kind} ${name}: ${result.stderr.trim()}`);
    }
    return JSON.parse(result.stdout) as KubeObject;
  }

  async condition(kind: string, name: string, namespace: string, type = "Ready"): Promise<Condition | undefined> {
    const object = await this.get(kind, name, namespace);
    const conditions = object?.status?.conditions ?? [];
    return conditions.find((c) => c.type === type);
  }

  /** Asks a Flux object to reconcile now, as `flux reconcile` and the webhook receiver do. */
  async requestReconcile(kind: string, name: string, namespace: string): Promise<string> {
    const token = new Date().toISOString();
    await this.must(["annotate", "--overwrite", "-n", namespace, kind, name, `reconcile.fluxcd.io/requestedAt=${token}`]);
    return token;
  }

  /** Waits until the Flux object has handled the reconcile request `token` (status.lastHandledReconcileAt). */
  async handled(kind: string, name: string, namespace: string, token: string, timeoutMs: number): Promise<KubeObject> {
    return waitFor(`${kind} ${namespace}/${name} to handle the reconcile request of ${token}`, timeoutMs, async () => {
      const object = await this.get(kind, name, namespace);
      return object?.status?.lastHandledReconcileAt === token ? object : seen(`lastHandledReconcileAt=${object?.status?.lastHandledReconcileAt ?? "none"}`);
    }, 1000);
  }
}

/** Waits until the Flux object's Ready condition is True, with its message when it is not. */
export function waitReady(kubectl: Kubectl, kind: string, name: string, namespace: string, timeoutMs: number, extra?: (object: KubeObject) => boolean): Promise<KubeObject> {
  return waitFor(`${kind} ${namespace}/${name} to be Ready`, timeoutMs, async () => {
    const object = await kubectl.get(kind, name, namespace);
    if (!object) seen("object does not exist");
    const ready = (object.status?.conditions ?? []).find((c) => c.type === "Ready");
    if (ready?.status !== "True") seen(ready ? `Ready=${ready.status} ${ready.reason ?? ""}: ${ready.message ?? ""}` : "no Ready condition yet");
    if (extra && !extra(object)) seen(`Ready, but not yet as expected: ${JSON.stringify(object.status ?? {})}`);
    return object;
  }, 1000);
}
