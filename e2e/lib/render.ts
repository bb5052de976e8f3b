/**
 * The objects the program renders (`npm run plan -- --out`), made appliable on the e2e cluster by
 * a fixed list of e2e overrides, each one an endpoint, a host, or a value only a provider knows:
 *
 * 1. Stack config: `github.knownHosts` pins the e2e Git server's ed25519 host key (as a
 *    `github.com` line, the only host the config accepts), and `reconciler.flux.version` is the
 *    Flux release whose controllers the e2e runs (2.7.3).
 * 2. Git endpoint: `ssh://git@github.com/` becomes `ssh://git@127.0.0.1:<port>/` in GitRepository
 *    and FluxInstance sync URLs, and the `github.com` host of `known_hosts` becomes
 *    `[127.0.0.1]:<port>` (a pattern without a port means port 22: fluxcd/pkg ssh/knownhosts).
 * 3. Secret values (`[secret]` in the rendered files): deploy keys are ed25519 keys made here in
 *    the program's format and keys (`identity`, `identity.pub`, `known_hosts`); the receiver token
 *    is random.
 * 4. Provider-known values (`[unknown]`): ECR repository URLs become a loopback registry address
 *    (no registry runs: the image controllers cannot be built, see e2e/README.md), the
 *    ImageRepository uses the `generic` provider there; the image-reflector IRSA patch is dropped
 *    and other unknowns (bucket, role ARN, the load balancer's security group) become the literal
 *    `e2e-unknown`.
 * 5. FluxInstance `spec.wait: false`: with no kubelet the controller Deployments never become
 *    ready (flux-operator api/v1/fluxinstance_types.go: wait defaults to true).
 *
 * Any other `[secret]` or `[unknown]` fails the run: nothing else is changed.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { FLUX_VERSION } from "../../components/config/schema";
import { SECRET_KEYS } from "../../components/github/deploy-key";
import { knownHostsFile } from "../../components/github/known-hosts";
import { DEFAULT_RECEIVER_NAME, receiverWebhookPath } from "../../components/k8s/webhook-receiver";
import { FLUX_NAMESPACE, GITHUB_SSH_HOST, SECRET_MASK } from "../../policies/vocabulary";
import { keyBlob, type KeyPair } from "./git";
import { run } from "./util";

const SECRET = SECRET_MASK;
const UNKNOWN = "[unknown]";

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: unknown;
  [key: string]: unknown;
}

export interface RenderOptions {
  readonly root: string;
  readonly stack: string;
  readonly dir: string;
  readonly hostKey: KeyPair;
  readonly gitPort: number;
  readonly registryPort: number;
  /** Deploy key per repository (`owner/name`). */
  readonly deployKeys: ReadonlyMap<string, KeyPair>;
}

export interface Rendered {
  readonly objects: K8sObject[];
  /** What was overridden, one line each, for the run's log. */
  readonly overrides: string[];
}

/** Writes the e2e stack config: the stack's own file with the two overrides of (1). */
export function e2eStackConfig(root: string, stack: string, hostKey: KeyPair, dir: string): string {
  const file = path.join(root, `Pulumi.${stack}.yaml`);
  const doc = yaml.load(fs.readFileSync(file, "utf8")) as { config: Record<string, Record<string, unknown>> };
  const github = doc.config["gitops-platform:github"];
  const reconciler = doc.config["gitops-platform:reconciler"];
  if (!github || !reconciler) throw new Error(`${file}: expected gitops-platform:github and gitops-platform:reconciler`);
  github.knownHosts = [`${GITHUB_SSH_HOST} ${keyBlob(hostKey.publicKey)}`];
  reconciler.flux = { ...(reconciler.flux as Record<string, unknown>), version: FLUX_VERSION };
  const out = path.join(dir, `Pulumi.${stack}.e2e.yaml`);
  fs.writeFileSync(out, yaml.dump(doc));
  return out;
}

export async function render(options: RenderOptions): Promise<Rendered> {
  const config = e2eStackConfig(options.root, options.stack, options.hostKey, options.dir);
  const out = path.join(options.dir, `rendered-${options.stack}`);
  const plan = await run(process.execPath, [path.join(options.root, "tools", "plan", "cli.mts"), "--stack", options.stack, "--config", config, "--out", out], {
    cwd: options.root,
    timeoutMs: 300_000,
  });
  if (plan.code !== 0) throw new Error(`npm run plan -- --stack ${options.stack} exited ${plan.code}:\n${plan.stdout.slice(-3000)}\n${plan.stderr.slice(-3000)}`);
  const objects: K8sObject[] = [];
  for (const file of fs.readdirSync(out).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml").sort()) {
    for (const doc of yaml.loadAll(fs.readFileSync(path.join(out, file), "utf8"))) if (doc) objects.push(doc as K8sObject);
  }
  return applyOverrides(objects, { ...options, receiverToken: crypto.randomBytes(20).toString("hex") });
}

export type OverrideOptions = Pick<RenderOptions, "hostKey" | "gitPort" | "registryPort" | "deployKeys"> & {
  /** The receiver token the e2e puts in the receiver's Secret; the Ingress path derives from it. */
  readonly receiverToken: string;
};

/** Applies the overrides listed above to rendered objects (in place); fails on anything left masked. */
export function applyOverrides(objects: K8sObject[], options: OverrideOptions): Rendered {
  const overrides: string[] = [];
  for (const object of objects) override(object, options, overrides);
  const left = objects.flatMap((object) => masked(object, `${object.kind} ${object.metadata.namespace ?? ""}/${object.metadata.name}`));
  if (left.length > 0) throw new Error(`rendered values the e2e has no override for:\n  ${left.join("\n  ")}`);
  // Namespaces first, so the namespaced objects of the same apply find theirs.
  objects.sort((a, b) => Number(b.kind === "Namespace") - Number(a.kind === "Namespace"));
  return { objects, overrides };
}

const GITHUB_SSH = `ssh://git@${GITHUB_SSH_HOST}/`;

function override(object: K8sObject, options: OverrideOptions, log: string[]): void {
  const id = `${object.kind} ${object.metadata.namespace ?? ""}/${object.metadata.name}`;
  const endpoint = `ssh://git@127.0.0.1:${options.gitPort}/`;
  const registry = `127.0.0.1:${options.registryPort}`;
  const spec = object.spec ?? {};
  if (object.kind === "GitRepository" && typeof spec.url === "string" && spec.url.startsWith(GITHUB_SSH)) {
    spec.url = endpoint + spec.url.slice(GITHUB_SSH.length);
    log.push(`${id}: spec.url -> ${spec.url as string}`);
  }
  if (object.kind === "FluxInstance") {
    const sync = spec.sync as Record<string, unknown> | undefined;
    if (sync && typeof sync.url === "string" && sync.url.startsWith(GITHUB_SSH)) {
      sync.url = endpoint + sync.url.slice(GITHUB_SSH.length);
      log.push(`${id}: spec.sync.url -> ${sync.url as string}`);
    }
    spec.wait = false;
    log.push(`${id}: spec.wait -> false (no kubelet)`);
    const kustomize = spec.kustomize as { patches?: { patch: string; target: { name?: string } }[] } | undefined;
    if (kustomize?.patches) {
      const before = kustomize.patches.length;
      kustomize.patches = kustomize.patches.filter((p) => !(p.patch === UNKNOWN && p.target.name === "image-reflector-controller"));
      if (kustomize.patches.length !== before) log.push(`${id}: dropped the image-reflector-controller IRSA patch (role ARN known only to AWS)`);
    }
  }
  // `plan --out` keeps a Secret's keys with "[secret]" values (the whole map is "[secret]" where
  // even the keys are unknown).
  if (object.kind === "Secret" && allSecret(object.stringData)) {
    const repo = object.metadata.annotations?.["gitops-platform/repository"];
    if (object.metadata.labels?.["app.kubernetes.io/component"] === "deploy-key" && repo) {
      const key = options.deployKeys.get(repo);
      if (!key) throw new Error(`${id}: no e2e deploy key for repository ${repo}`);
      const knownHosts = knownHostsFile([`[127.0.0.1]:${options.gitPort} ${keyBlob(options.hostKey.publicKey)}`]);
      const values: Record<(typeof SECRET_KEYS)[number], string> = { identity: key.privateKey, "identity.pub": key.publicKey, known_hosts: knownHosts };
      object.stringData = values;
      log.push(`${id}: stringData -> e2e deploy key for ${repo}, known_hosts pinning [127.0.0.1]:${options.gitPort}`);
    } else if (object.metadata.name.endsWith("-receiver-token")) {
      object.stringData = { token: options.receiverToken };
      log.push(`${id}: stringData -> random receiver token`);
    } else if (object.metadata.name === "commit-status-github-app" || object.metadata.name === "alert-destination") {
      // Read only by notification-controller, which the e2e cannot build (e2e/README.md).
      const keys = typeof object.stringData === "object" && object.stringData ? Object.keys(object.stringData) : [];
      object.stringData = Object.fromEntries(keys.map((key) => [key, "e2e-placeholder"]));
      log.push(`${id}: stringData -> e2e placeholders for ${keys.join(", ")} (no notification-controller runs)`);
    }
  }
  if (object.kind === "ConfigMap" && object.data) {
    for (const [key, value] of Object.entries(object.data)) {
      if (value !== UNKNOWN) continue;
      const app = /^ECR_REPOSITORY_URL_(.+)$/.exec(key)?.[1];
      object.data[key] = app ? `${registry}/${app.toLowerCase().replace(/_/g, "-")}` : "e2e-unknown";
      log.push(`${id}: data.${key} -> ${object.data[key]}`);
    }
  }
  if (object.kind === "Kustomization") {
    // The app's image repository (an ECR URL only AWS knows) becomes the loopback registry's.
    const substitute = (spec.postBuild as { substitute?: Record<string, string> } | undefined)?.substitute;
    if (substitute?.IMAGE_REPOSITORY === UNKNOWN) {
      substitute.IMAGE_REPOSITORY = `${registry}/${object.metadata.name}`;
      log.push(`${id}: spec.postBuild.substitute.IMAGE_REPOSITORY -> ${substitute.IMAGE_REPOSITORY}`);
    }
  }
  if (object.kind === "Ingress") {
    // The receiver's path derives from its token, as the program computes it for GitHub.
    const rules = (spec.rules ?? []) as { http?: { paths?: { path?: string }[] } }[];
    for (const p of rules.flatMap((rule) => rule.http?.paths ?? [])) {
      if (p.path !== SECRET) continue;
      p.path = receiverWebhookPath(options.receiverToken, DEFAULT_RECEIVER_NAME, object.metadata.namespace ?? FLUX_NAMESPACE);
      log.push(`${id}: path -> the receiver path of the e2e token`);
    }
  }
  if (object.kind === "Ingress" && object.metadata.annotations) {
    // No ingress controller or load balancer here: AWS ids (security groups) stay placeholders.
    for (const [key, value] of Object.entries(object.metadata.annotations)) {
      if (value !== UNKNOWN) continue;
      object.metadata.annotations[key] = "e2e-unknown";
      log.push(`${id}: metadata.annotations.${key} -> e2e-unknown`);
    }
  }
  if (object.kind === "ImageRepository" && spec.image === UNKNOWN) {
    const app = object.metadata.labels?.["gitops-platform/app"] ?? object.metadata.name;
    spec.image = `${registry}/${app}`;
    spec.provider = "generic";
    spec.insecure = true;
    log.push(`${id}: spec.image -> ${spec.image as string} (generic provider, plain HTTP on loopback)`);
  }
}

/** Whether a rendered Secret's values are all masked (the whole map, or every key's value). */
function allSecret(value: unknown): boolean {
  if (value === SECRET) return true;
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.values(value).length > 0 && Object.values(value).every((v) => v === SECRET);
}

/** Paths of values still masked. */
function masked(value: unknown, at: string): string[] {
  if (value === SECRET || value === UNKNOWN) return [`${at}: ${value}`];
  if (Array.isArray(value)) return value.flatMap((v, i) => masked(v, `${at}[${i}]`));
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => masked(v, `${at}.${k}`));
  return [];
}
