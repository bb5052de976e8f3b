/**
 * SOPS: app secrets reach the cluster only as SOPS-encrypted files that Flux decrypts, and only
 * Flux's kustomize-controller can decrypt them.
 *
 * - `flux-secrets-sops-only`: no Kubernetes Secret in plaintext anywhere Flux applies — the
 *   files of the config repo's paths Flux syncs (the FluxInstance's spec.sync.path, and the
 *   Kustomizations of that source, declared or found there), inline patches of Flux objects, and
 *   Secrets the program declares that are not the platform's own credentials.
 * - `sops-key-decrypt-only-controller`: the SOPS key's policy (or a KeyPolicy replacing it) lets
 *   exactly kustomize-controller's IRSA role, by full ARN, decrypt — nobody else, not even through
 *   grants or re-encryption.
 *
 * The manifest scan ({@link manifestSecretProblems}) is also the `check-secrets` command, which
 * checks any directory, such as `plan --out` renders (their masked `[secret]` values pass).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { load, loadAll } from "js-yaml";
import { actionCovers, isEveryone, kubernetesKind, isFluxInstance, list, objectMeta, ofTypes, parseDocument, q, record, str, UNKNOWN, Unknowns } from "./support";

const SECRET = "kubernetes:core/v1:Secret";
const ROLE = "aws:iam/role:Role";
const KMS_KEY = "aws:kms/key:Key";
const KMS_KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy";
const KMS_GRANT = "aws:kms/grant:Grant";
const isKustomization = kubernetesKind("kustomize.toolkit.fluxcd.io", "Kustomization");

/** What a plan's `--out` render shows instead of a secret value. */
const MASKED = "[secret]";

/** A value SOPS encrypted (getsops/sops v3.11.0 aes/cipher.go: `ENC[AES256_GCM,data:...,iv:...,tag:...,type:...]`). */
const ENCRYPTED_VALUE = /^ENC\[AES256_GCM,data:[^\]]*,iv:[^\]]+,tag:[^\]]+,type:[a-z]+\]$/;

// ---------------------------------------------------------------------------------------------
// Manifests in files
// ---------------------------------------------------------------------------------------------

/** Whether a parsed YAML document carries SOPS metadata (`sops:` with a `mac`). */
function hasSopsMetadata(doc: Record<string, unknown>): boolean {
  const sops = record(doc.sops);
  return sops !== undefined && typeof sops.mac === "string";
}

/** Problems of one Secret document: plaintext data, or values SOPS did not encrypt. */
function secretDocumentProblems(doc: Record<string, unknown>, file: string): string[] {
  const name = str(record(doc.metadata)?.name) ?? "(unnamed)";
  const fields = (["data", "stringData"] as const).filter((field) => Object.keys(record(doc[field]) ?? {}).length > 0);
  if (fields.length === 0) return [];
  const values = fields.flatMap((field) => Object.entries(record(doc[field]) ?? {}).map(([key, value]) => ({ field, key, value })));
  if (!hasSopsMetadata(doc)) {
    // A plan render: every value masked, nothing in it to leak.
    if (values.every(({ value }) => value === MASKED)) return [];
    return [`${file}: Secret ${q(name)} has plaintext ${fields.join(" and ")} and no SOPS metadata; only SOPS-encrypted Secrets belong in Git (sops --encrypt --in-place ${file})`];
  }
  return values
    .filter(({ value }) => typeof value !== "string" || !ENCRYPTED_VALUE.test(value))
    .map(({ field, key }) => `${file}: Secret ${q(name)} has SOPS metadata but ${field}.${key} is not encrypted; encrypt the whole file again with sops`);
}

/**
 * The first value of a SOPS-encrypted tree that is not encrypted, as a dotted path; undefined when
 * every value is. Keys ending in the file's `unencrypted_suffix` stay plaintext by design (sops
 * v3.11.0 stores the suffix, `_unencrypted` by default, in the metadata).
 */
function firstPlaintextValue(value: unknown, suffix: string | undefined, at: string): string | undefined {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = firstPlaintextValue(item, suffix, `${at}[${index}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  const object = record(value);
  if (object !== undefined) {
    for (const [key, item] of Object.entries(object)) {
      if (at === "" && key === "sops") continue;
      if (suffix !== undefined && suffix !== "" && key.endsWith(suffix)) continue;
      const found = firstPlaintextValue(item, suffix, at === "" ? key : `${at}.${key}`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  return typeof value === "string" && ENCRYPTED_VALUE.test(value) ? undefined : at || "(the value)";
}

/**
 * Why a file a secretGenerator reads is not fully SOPS-encrypted, or undefined when it is. Flux's
 * kustomize-controller decrypts a source by its extension: `.env` as dotenv, `.yaml`/`.yml`/`.json`
 * as trees, anything else as binary (JSON `{"data": ENC[...], "sops": ...}`). A `sops:` block alone
 * proves nothing: under an `encrypted_regex` a YAML file keeps every other value in plaintext.
 */
export function generatorSourceProblem(text: string, file: string): string | undefined {
  if (/\.env$/.test(file)) {
    const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "" && !line.startsWith("#"));
    if (!lines.some((line) => /^sops_mac=ENC\[/.test(line))) return "has no SOPS metadata";
    const plain = lines.find((line) => !line.startsWith("sops_") && !ENCRYPTED_VALUE.test(line.slice(line.indexOf("=") + 1)));
    return plain === undefined ? undefined : `keeps ${plain.split("=")[0] ?? ""} in plaintext`;
  }
  let doc: Record<string, unknown> | undefined;
  try {
    doc = record(load(text));
  } catch {
    doc = undefined;
  }
  if (doc === undefined || !hasSopsMetadata(doc)) return "has no SOPS metadata";
  const suffix = str(record(doc.sops)?.unencrypted_suffix);
  const plain = firstPlaintextValue(doc, suffix, "");
  return plain === undefined ? undefined : `keeps ${plain} in plaintext`;
}

/** A source path of a kustomization entry (`files` entries may be `key=path`). */
const sourcePath = (entry: string) => (entry.includes("=") ? entry.slice(entry.indexOf("=") + 1) : entry);

/** Problems of a kustomization's secretGenerator: literals are plaintext, sources must be wholly SOPS-encrypted. */
function generatorProblems(doc: Record<string, unknown>, file: string, dir: string): string[] {
  const problems: string[] = [];
  for (const raw of list(doc.secretGenerator)) {
    const generator = record(raw) ?? {};
    const name = str(generator.name) ?? "(unnamed)";
    if (list(generator.literals).length > 0) {
      problems.push(`${file}: secretGenerator ${q(name)} has literals, which are plaintext in Git; generate it from a SOPS-encrypted envs or files source`);
    }
    for (const entry of [...list(generator.envs), ...list(generator.files)]) {
      if (typeof entry !== "string") continue;
      const source = sourcePath(entry);
      const full = path.resolve(dir, source);
      if (!fs.existsSync(full) || !fs.statSync(full).isFile()) continue; // kustomize reports a missing source itself
      const problem = generatorSourceProblem(fs.readFileSync(full, "utf8"), source);
      if (problem !== undefined) problems.push(`${file}: secretGenerator ${q(name)} reads ${source}, which ${problem}; encrypt the whole file with sops (see docs/secrets.md)`);
    }
  }
  return problems;
}

/**
 * Whether a patch writes Secret data: a strategic-merge Secret with data, or JSON 6902 operations
 * on `/data` or `/stringData`. A JSON 6902 patch applies to whatever its target selects; unless the
 * target names another kind, it may be a Secret.
 */
export function patchWritesSecretData(text: string, targetKind: string | undefined): boolean {
  const docs = parsedDocs(text);
  if (docs === undefined) return false;
  if (targetKind !== undefined && targetKind !== "Secret") return false;
  return docs.some((raw) => {
    if (Array.isArray(raw)) return raw.some((op) => /^\/(data|stringData)(\/|$)/.test(str(record(op)?.path) ?? "") && record(op)?.op !== "remove");
    const doc = record(raw);
    return doc?.kind === "Secret" && (record(doc.data) !== undefined || record(doc.stringData) !== undefined);
  });
}

/** A patch of a kustomization or Flux object: inline text or a file beside it, and what it targets. */
interface Patch {
  readonly label: string;
  readonly text?: string;
  readonly path?: string;
  readonly targetKind?: string;
}

/** Patches a kustomization.yaml lists: `patches`, `patchesStrategicMerge`, `patchesJson6902`. */
function kustomizePatches(doc: Record<string, unknown>): Patch[] {
  const out: Patch[] = [];
  const entry = (field: string, raw: unknown, index: number) => {
    const label = `${field}[${index}]`;
    if (typeof raw === "string") {
      // patchesStrategicMerge: a file name or an inline patch.
      out.push(raw.includes("\n") || raw.includes(":") ? { label, text: raw } : { label, path: raw });
      return;
    }
    const patch = record(raw) ?? {};
    const targetKind = str(record(patch.target)?.kind);
    const base = { label, ...(targetKind !== undefined ? { targetKind } : {}) };
    if (typeof patch.patch === "string") out.push({ ...base, text: patch.patch });
    if (typeof patch.path === "string") out.push({ ...base, path: patch.path });
  };
  for (const field of ["patches", "patchesStrategicMerge", "patchesJson6902"]) list(doc[field]).forEach((raw, index) => entry(field, raw, index));
  return out;
}

/** Problems of a set of patches declared in `file`: each that writes Secret data. */
function patchProblems(patches: readonly Patch[], owner: string, file: string, dir: string): string[] {
  const problems: string[] = [];
  for (const patch of patches) {
    let text = patch.text;
    if (text === undefined && patch.path !== undefined) {
      const full = path.resolve(dir, patch.path);
      text = fs.existsSync(full) && fs.statSync(full).isFile() ? fs.readFileSync(full, "utf8") : undefined;
    }
    if (text !== undefined && patchWritesSecretData(text, patch.targetKind)) {
      problems.push(`${file}: ${patch.label} of ${owner} writes Secret data in plaintext; put the Secret SOPS-encrypted in the applied path instead`);
    }
  }
  return problems;
}

/** Every YAML document of a file's text, or undefined when it does not parse. */
function parsedDocs(text: string): unknown[] | undefined {
  try {
    return loadAll(text);
  } catch {
    return undefined;
  }
}

/** The objects of parsed documents, with every `*List` (List, SecretList, …) opened up, as kustomize does. */
function objectsOf(docs: readonly unknown[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const visit = (raw: unknown) => {
    const doc = record(raw);
    if (doc === undefined) return;
    if (typeof doc.kind === "string" && doc.kind.endsWith("List") && Array.isArray(doc.items)) doc.items.forEach(visit);
    else out.push(doc);
  };
  docs.forEach(visit);
  return out;
}

const isKustomizeFile = (doc: Record<string, unknown>, file: string) =>
  /^(kustomization\.ya?ml|Kustomization)$/.test(path.basename(file)) ||
  (doc.kind === "Kustomization" && (doc.apiVersion === undefined || (str(doc.apiVersion) ?? "").startsWith("kustomize.config.k8s.io/")));
const isFluxKustomization = (doc: Record<string, unknown>) => doc.kind === "Kustomization" && (str(doc.apiVersion) ?? "").startsWith("kustomize.toolkit.fluxcd.io/");
const isFluxInstanceDoc = (doc: Record<string, unknown>) => doc.kind === "FluxInstance" && (str(doc.apiVersion) ?? "").startsWith("fluxcd.controlplane.io/");

/** Inline patches of a Flux object in a file: a Kustomization's `spec.patches`, a FluxInstance's `spec.kustomize.patches`. */
function fluxObjectPatches(doc: Record<string, unknown>): Patch[] {
  const spec = record(doc.spec) ?? {};
  const raw = isFluxInstanceDoc(doc) ? list(record(spec.kustomize)?.patches) : list(spec.patches);
  return raw.flatMap((item, index) => {
    const patch = record(item) ?? {};
    const targetKind = str(record(patch.target)?.kind);
    return typeof patch.patch === "string" ? [{ label: `patches[${index}]`, text: patch.patch, ...(targetKind !== undefined ? { targetKind } : {}) }] : [];
  });
}

/** Problems of one manifest file's text, its path shown as `file`. */
export function manifestTextProblems(text: string, file: string, dir = "."): string[] {
  const docs = parsedDocs(text);
  if (docs === undefined) {
    // Unparsable: Flux would fail on it too, but a plaintext Secret in it must not pass unseen.
    if (/^kind:\s*["']?Secret["']?\s*$/m.test(text) && !/^sops:\s*$/m.test(text)) {
      return [`${file}: is not valid YAML and declares a Secret without SOPS metadata; fix the file so it can be checked`];
    }
    return [];
  }
  const problems: string[] = [];
  for (const doc of objectsOf(docs)) {
    if (doc.kind === "Secret" && (doc.apiVersion === undefined || doc.apiVersion === "v1")) problems.push(...secretDocumentProblems(doc, file));
    if (isKustomizeFile(doc, file)) {
      problems.push(...generatorProblems(doc, file, dir));
      problems.push(...patchProblems(kustomizePatches(doc), "the kustomization", file, dir));
    }
    if (isFluxKustomization(doc) || isFluxInstanceDoc(doc)) {
      const owner = `${str(doc.kind) ?? ""} ${q(str(record(doc.metadata)?.name) ?? "(unnamed)")}`;
      problems.push(...patchProblems(fluxObjectPatches(doc), owner, file, dir));
    }
  }
  return problems;
}

/**
 * The annotation (or label) that keeps Flux's postBuild substitution out of an object
 * (fluxcd/pkg kustomize v1.23.0 kustomize_varsub.go, used by kustomize-controller v1.7.2, which
 * substitutes after decrypting: internal/controller/kustomization_controller.go).
 */
export const SUBSTITUTE_DISABLED = { key: "kustomize.toolkit.fluxcd.io/substitute", value: "disabled" } as const;

/** Advice on one manifest file: SOPS-encrypted Secrets that postBuild substitution would rewrite. */
export function manifestTextAdvice(text: string, file: string): string[] {
  const docs = parsedDocs(text);
  if (docs === undefined) return [];
  return objectsOf(docs)
    .filter((doc) => doc.kind === "Secret" && hasSopsMetadata(doc))
    .filter((doc) => {
      const meta = record(doc.metadata);
      return record(meta?.annotations)?.[SUBSTITUTE_DISABLED.key] !== SUBSTITUTE_DISABLED.value && record(meta?.labels)?.[SUBSTITUTE_DISABLED.key] !== SUBSTITUTE_DISABLED.value;
    })
    .map(
      (doc) =>
        `${file}: Secret ${q(str(record(doc.metadata)?.name) ?? "(unnamed)")} is not annotated ${SUBSTITUTE_DISABLED.key}: ${SUBSTITUTE_DISABLED.value}; where its Kustomization has postBuild substitution, Flux replaces \${...} in the decrypted values (annotate before encrypting: the MAC covers it)`,
    );
}

/** Advice on every file under `paths` (see {@link manifestTextAdvice}); missing paths are left to {@link manifestSecretProblems}. */
export function manifestSecretAdvice(root: string, paths: readonly string[]): string[] {
  const advice: string[] = [];
  for (const relative of paths) {
    const dir = path.resolve(root, relative);
    if (!fs.existsSync(dir)) continue;
    for (const file of fs.statSync(dir).isDirectory() ? allFiles(dir) : [dir]) {
      const text = fs.readFileSync(file);
      if (!text.includes(0)) advice.push(...manifestTextAdvice(text.toString("utf8"), path.relative(root, file) || file));
    }
  }
  return advice;
}

/**
 * Every file under `dir`, sorted. Whatever its name: a kustomization may list any file as a
 * resource, in any directory, hidden ones included. Only `.git` and `node_modules` are skipped.
 */
function allFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string) => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name === ".git" || entry.name === "node_modules") continue;
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push(full);
    }
  };
  walk(dir);
  return out;
}

/** The `spec.path` of each Flux Kustomization in a file whose source is one of `sources` (GitRepositories of this repository). */
function followedPaths(text: string, sources: readonly string[]): string[] {
  const docs = parsedDocs(text);
  if (docs === undefined) return [];
  return objectsOf(docs)
    .filter(isFluxKustomization)
    .flatMap((doc) => {
      const spec = record(doc.spec) ?? {};
      const sourceRef = record(spec.sourceRef) ?? {};
      return sourceRef.kind === "GitRepository" && sources.includes(str(sourceRef.name) ?? "") ? [str(spec.path) ?? "."] : [];
    });
}

/** A repository-relative path as Flux writes it (`./clusters/x/`) in one form (`clusters/x`). */
export const normalizePath = (p: string) => path.posix.normalize(p.replace(/^\.\//, "")).replace(/\/+$/, "") || ".";

/**
 * Problems of every file under `paths` (relative to `root`), file names shown relative to `root`.
 * A path that does not exist is a problem too: Flux would fail to apply it, and nothing in it was
 * checked. With `followSources` (the names of GitRepositories that fetch this repository), the
 * paths of Flux Kustomizations found in those files that apply from such a source are checked too.
 */
export function manifestSecretProblems(root: string, paths: readonly string[], followSources: readonly string[] = []): string[] {
  const problems: string[] = [];
  const queue = paths.map(normalizePath);
  const seen = new Set<string>();
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (seen.has(next)) continue;
    seen.add(next);
    if (next === ".." || next.startsWith("../") || path.isAbsolute(next)) {
      problems.push(`${next}: Flux applies this path, but it is outside the repository; nothing there could be checked`);
      continue;
    }
    const dir = path.resolve(root, next);
    if (!fs.existsSync(dir)) {
      problems.push(`${next}: Flux applies this path, but it does not exist under ${root}; nothing there could be checked`);
      continue;
    }
    const files = fs.statSync(dir).isDirectory() ? allFiles(dir) : [dir];
    for (const file of files) {
      const bytes = fs.readFileSync(file);
      if (bytes.includes(0)) continue; // binary: no manifest
      const text = bytes.toString("utf8");
      problems.push(...manifestTextProblems(text, path.relative(root, file) || file, path.dirname(file)));
      if (followSources.length > 0) queue.push(...followedPaths(text, followSources).map(normalizePath));
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// flux-secrets-sops-only
// ---------------------------------------------------------------------------------------------

/** Inline patches Flux applies: a Kustomization's `spec.patches`, a FluxInstance's `spec.kustomize.patches`. */
function inlinePatches(resource: PolicyResource, unknowns: Unknowns): { label: string; text: string; targetKind?: string }[] {
  const spec = unknowns.read(() => record(resource.props.spec));
  if (spec === UNKNOWN || spec === undefined) return [];
  const patches = isFluxInstance(resource.type) ? unknowns.read(() => list(record(spec.kustomize)?.patches)) : unknowns.read(() => list(spec.patches));
  if (patches === UNKNOWN) return [];
  const out: { label: string; text: string; targetKind?: string }[] = [];
  patches.forEach((raw, index) => {
    const targetKind = Unknowns.peek(() => str(record(record(raw)?.target)?.kind));
    // A patch aimed at another kind cannot write a Secret, whatever its (possibly unknown) text.
    if (targetKind !== undefined && targetKind !== "Secret") return;
    const text = unknowns.read(() => str(record(raw)?.patch));
    if (typeof text === "string") out.push({ label: `patches[${index}]`, text, ...(targetKind !== undefined ? { targetKind } : {}) });
  });
  return out;
}

/**
 * The repository root: the nearest directory above this module holding `Pulumi.yaml`. Not a fixed
 * `..`: the offline tools load this module from a bundle next to their own entry file.
 */
export function repositoryRoot(from: string = __dirname): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, "..");
  }
}

/**
 * Components whose Secrets are the platform's own credentials (deploy keys, the webhook token, the
 * notification credentials): decided by who declares the Secret, not by a label anyone can set.
 */
export const PLATFORM_SECRET_OWNERS = ["gitops-platform:github:DeployKey", "gitops-platform:k8s:WebhookReceiver", "gitops-platform:k8s:Notifications"] as const;

/** Secret kinds of the Kubernetes SDK that write data: the Secret and its server-side-apply patch. */
const SECRET_TYPES = [SECRET, "kubernetes:core/v1:SecretPatch"];

/**
 * The paths of the config repository Flux applies, relative to its root: the FluxInstance's
 * `spec.sync.path`, and each Flux Kustomization's `spec.path` whose source is the sync's
 * GitRepository (named `spec.sync.name`, else the FluxInstance's namespace: the Flux Operator's
 * FluxInstance CRD, v0.58.1).
 */
function syncedPaths(resources: readonly PolicyResource[], unknowns: Unknowns): { paths: string[]; sources: string[] } {
  const paths: string[] = [];
  const sources: string[] = [];
  for (const instance of resources.filter((r) => isFluxInstance(r.type))) {
    const sync = unknowns.read(() => record(record(instance.props.spec)?.sync));
    if (sync === UNKNOWN || sync === undefined) continue;
    const name = unknowns.read(() => str(sync.name) ?? objectMeta(instance).namespace ?? "flux-system");
    const syncPath = unknowns.read(() => str(sync.path));
    if (name !== UNKNOWN && name !== undefined) sources.push(name);
    if (syncPath !== UNKNOWN) paths.push(syncPath ?? ".");
  }
  for (const kustomization of resources.filter((r) => isKustomization(r.type))) {
    const spec = unknowns.read(() => record(kustomization.props.spec));
    if (spec === UNKNOWN || spec === undefined) continue;
    const sourceRef = Unknowns.peek(() => record(spec.sourceRef));
    if (sourceRef?.kind !== "GitRepository" || !sources.includes(str(sourceRef.name) ?? "")) continue;
    const kustomizationPath = unknowns.read(() => str(spec.path));
    if (kustomizationPath !== UNKNOWN) paths.push(kustomizationPath ?? ".");
  }
  return { paths: [...new Set(paths.map(normalizePath))], sources };
}

/** Flux applies only SOPS-encrypted Secrets; the program declares only the platform's own. */
export const fluxSecretsSopsOnly: StackValidationPolicy = {
  name: "flux-secrets-sops-only",
  description:
    "No Kubernetes Secret in plaintext where Flux applies manifests (the paths the FluxInstance and the config repo's Kustomizations sync, inline patches of Flux objects): only SOPS-encrypted Secrets; the program declares only the platform's own credential Secrets.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      manifestRoot: {
        type: "string",
        default: ".",
        description: "The config repository's checkout the synced paths are relative to, itself relative to the repository root (the nearest directory above the pack holding Pulumi.yaml).",
      },
      manifestPaths: {
        type: "array",
        items: { type: "string" },
        default: [],
        description: "More directories (relative to manifestRoot) to check besides the paths Flux syncs, e.g. app deploy paths kept in this repository.",
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const { manifestRoot = ".", manifestPaths = [] } = args.getConfig<{ manifestRoot?: string; manifestPaths?: string[] }>();
    const unknowns = new Unknowns();
    const synced = syncedPaths(args.resources, unknowns);
    const paths = [...new Set([...synced.paths, ...manifestPaths])];
    for (const problem of manifestSecretProblems(path.resolve(repositoryRoot(), manifestRoot), paths, synced.sources)) reportViolation(problem);

    for (const secret of ofTypes(args.resources, SECRET_TYPES)) {
      const owner = secret.parent?.type;
      if (secret.type === SECRET && owner !== undefined && (PLATFORM_SECRET_OWNERS as readonly string[]).includes(owner)) continue;
      const meta = objectMeta(secret);
      reportViolation(
        `${secret.type === SECRET ? "Secret" : "SecretPatch"} ${q(`${meta.namespace ?? "(default)"}/${meta.name ?? secret.name}`)} is declared by the program but is not one of the platform's own credentials (a Secret of ${PLATFORM_SECRET_OWNERS.map((type) => type.split(":").pop() ?? "").join(", ")}); an app's secrets go SOPS-encrypted into its deploy path, where Flux decrypts them`,
        secret.urn,
      );
    }
    for (const resource of args.resources.filter((r) => isKustomization(r.type) || isFluxInstance(r.type))) {
      for (const { label, text, targetKind } of inlinePatches(resource, unknowns)) {
        if (patchWritesSecretData(text, targetKind)) {
          reportViolation(`${label} of ${resource.type.split(":").pop() ?? ""} ${q(objectMeta(resource).name ?? resource.name)} writes Secret data in plaintext; put the Secret SOPS-encrypted in the applied path instead`, resource.urn);
        }
      }
    }
    unknowns.rethrow();
  },
};

// ---------------------------------------------------------------------------------------------
// sops-key-decrypt-only-controller
// ---------------------------------------------------------------------------------------------

/** Actions that read a key's plaintext: decrypting, re-encrypting it under another key, or granting either. */
const DECRYPTING_ACTIONS = ["kms:Decrypt", "kms:ReEncryptFrom", "kms:CreateGrant"];

/** The tag that marks a SOPS key. */
export const SOPS_KEY_TAG = { key: "gitops-platform/purpose", value: "sops" } as const;

/** A role kustomize-controller's ServiceAccount assumes (IRSA): its full ARN and its name for messages. */
interface ControllerRole {
  readonly arn: string;
  readonly name: string;
  /** The OIDC provider (cluster issuer) the trust names. */
  readonly issuer: string;
}

/**
 * The stack's roles that exactly Flux's kustomize-controller assumes: trusted through an EKS OIDC
 * provider with `<issuer>:sub` equal to `system:serviceaccount:<Flux namespace>:<serviceAccount>`
 * for that same provider — not a ServiceAccount of that name in another namespace. Each is known
 * by its full ARN, built from the account of its OIDC provider (IRSA trusts a provider of the
 * role's own account) and its fixed name and path; a role whose name is unknown is none of them.
 */
function controllerRoles(resources: readonly PolicyResource[], namespace: string, serviceAccount: string): ControllerRole[] {
  const roles: ControllerRole[] = [];
  const subject = `system:serviceaccount:${namespace}:${serviceAccount}`;
  for (const role of ofTypes(resources, [ROLE])) {
    const trust = Unknowns.peek((): unknown => role.props.assumeRolePolicy);
    const name = Unknowns.peek(() => str(role.props.name));
    const rolePath = Unknowns.peek(() => str(role.props.path)) ?? "/";
    if (trust === undefined || name === undefined) continue;
    const parsed = parseDocument(trust);
    if ("error" in parsed) continue;
    for (const statement of parsed.statements) {
      if (statement.effect !== "Allow" || !statement.actions.includes("sts:AssumeRoleWithWebIdentity")) continue;
      for (const principal of statement.principals.filter((p) => p.kind === "Federated")) {
        const provider = /^arn:(aws[\w-]*):iam::(\d{12}):oidc-provider\/(.+)$/.exec(principal.value);
        if (!provider) continue;
        const [, partition, account, issuer] = provider;
        const sub = statement.conditions.StringEquals?.[`${(issuer ?? "").toLowerCase()}:sub`];
        if (sub?.length !== 1 || sub[0] !== subject) continue;
        roles.push({ arn: `arn:${partition ?? "aws"}:iam::${account ?? ""}:role${rolePath}${name}`, name, issuer: issuer ?? "" });
      }
    }
  }
  return roles;
}

/** The alias of a SOPS key (components/aws/app-secrets.ts): a key named by it is the SOPS key. */
const SOPS_ALIAS = /(^|:)alias\/gitops-platform\/[^/]+\/app-secrets$/;

/** The SOPS key's policy lets exactly kustomize-controller's IRSA role decrypt. */
export const sopsKeyDecryptOnlyController: StackValidationPolicy = {
  name: "sops-key-decrypt-only-controller",
  description:
    "The SOPS key (tagged gitops-platform/purpose: sops, or decryptable by kustomize-controller's IRSA role), and any separate KeyPolicy on it, lets exactly that role (by full ARN) decrypt: no other principal, account root, wildcard, NotPrincipal or NotAction may decrypt, re-encrypt from it or create grants, and no grant hands decryption out.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      serviceAccount: { type: "string", default: "kustomize-controller", description: "The ServiceAccount that decrypts SOPS files." },
      namespace: { type: "string", default: "flux-system", description: "Flux's namespace, where that ServiceAccount lives, when the stack declares no FluxInstance." },
    },
  },
  validateStack: (args, reportViolation) => {
    const config = args.getConfig<{ serviceAccount?: string; namespace?: string }>();
    const serviceAccount = config.serviceAccount ?? "kustomize-controller";
    const instance = args.resources.find((r) => isFluxInstance(r.type));
    const namespace = (instance !== undefined ? objectMeta(instance).namespace : undefined) ?? config.namespace ?? "flux-system";
    const controllers = controllerRoles(args.resources, namespace, serviceAccount);
    const isController = (arn: string) => controllers.some((role) => role.arn === arn);
    const controllerLabel = controllers.length > 0 ? [...new Set(controllers.map((role) => q(role.name)))].join(", ") : "none in this stack";
    const unknowns = new Unknowns();
    // One cluster's controller: roles trusted by a kustomize-controller of another cluster (another
    // OIDC issuer) would let that cluster's Flux decrypt too.
    const issuers = [...new Set(controllers.map((role) => role.issuer))].sort();
    if (issuers.length > 1) {
      reportViolation(
        `kustomize-controller is trusted through more than one cluster's OIDC provider (${issuers.map((issuer) => q(issuer)).join(", ")}), by roles ${controllerLabel}; only this cluster's controller may decrypt the SOPS key`,
      );
    }

    const keys = ofTypes(args.resources, [KMS_KEY]);
    const keyPolicies = ofTypes(args.resources, [KMS_KEY_POLICY]);
    const tagged = new Set(keys.filter((key) => Unknowns.peek(() => record(key.props.tags)?.[SOPS_KEY_TAG.key]) === SOPS_KEY_TAG.value).map((key) => key.urn));
    const sopsKeys = new Set<string>(tagged);
    const keyIdNamesSops = (resource: PolicyResource) => {
      const keyId = Unknowns.peek(() => str(resource.props.keyId));
      return (resource.propertyDependencies.keyId ?? []).some((dep) => sopsKeys.has(dep.urn)) || (keyId !== undefined && SOPS_ALIAS.test(keyId));
    };

    /** Checks one key policy document; returns whether the controller may decrypt under it. */
    const checkPolicy = (resource: PolicyResource, isSops: () => boolean): void => {
      const text = unknowns.read((): unknown => resource.props.policy);
      if (text === UNKNOWN) return;
      if (text === undefined) {
        if (isSops()) {
          reportViolation("the SOPS key has no key policy, and AWS's default one lets every principal of the account that IAM allows decrypt; give it a policy that lets only kustomize-controller's IRSA role decrypt", resource.urn);
        }
        return;
      }
      const parsed = parseDocument(text);
      if ("error" in parsed) return;
      const allows = parsed.statements.filter((statement) => statement.effect === "Allow");
      const decrypts = (statement: (typeof allows)[number]) =>
        statement.notActions.length > 0 || DECRYPTING_ACTIONS.some((action) => statement.actions.some((pattern) => actionCovers(pattern, action)));
      const controllerDecrypts = allows.some((statement) => decrypts(statement) && statement.principals.some((p) => p.kind === "AWS" && isController(p.value)));
      if (!isSops() && !controllerDecrypts) return;
      if (resource.type === KMS_KEY) sopsKeys.add(resource.urn);
      if (!controllerDecrypts) {
        reportViolation(`the SOPS key's policy lets no kustomize-controller IRSA role (${controllerLabel}) decrypt; Flux could not read the secrets`, resource.urn);
      }
      for (const statement of allows) {
        if (!decrypts(statement)) continue;
        const where = `key policy statement ${statement.id}`;
        if (statement.hasNotPrincipal) reportViolation(`${where} uses NotPrincipal with Allow; name the principals`, resource.urn);
        if (statement.notActions.length > 0) {
          reportViolation(`${where} uses NotAction with Allow, which lets its principals decrypt; list the actions`, resource.urn);
          continue;
        }
        const actions = DECRYPTING_ACTIONS.filter((action) => statement.actions.some((pattern) => actionCovers(pattern, action)));
        for (const principal of statement.principals) {
          const controller = principal.kind === "AWS" && isController(principal.value);
          const granted = controller ? actions.filter((action) => action !== "kms:Decrypt") : actions;
          if (granted.length === 0) continue;
          const who = isEveryone(principal) ? "every AWS principal" : /^(\d{12}|arn:aws[\w-]*:iam::\d{12}:root)$/.test(principal.value) ? `every principal of account ${q(principal.value)}` : q(principal.value);
          reportViolation(
            `${where} lets ${who} use ${granted.join(", ")}; only kustomize-controller's IRSA role (${controllerLabel}) may decrypt the SOPS key, with kms:Decrypt alone`,
            resource.urn,
          );
        }
      }
    };

    for (const key of keys) checkPolicy(key, () => tagged.has(key.urn));
    // A KeyPolicy replaces its key's whole policy: on the SOPS key (by reference or by its alias) it
    // is judged as the key's own.
    for (const keyPolicy of keyPolicies) checkPolicy(keyPolicy, () => keyIdNamesSops(keyPolicy));

    // Grants hand out operations outside the key policy.
    for (const grant of ofTypes(args.resources, [KMS_GRANT])) {
      const literalKey = (grant.propertyDependencies.keyId ?? []).length === 0;
      if (!keyIdNamesSops(grant) && !literalKey) continue;
      const operations = unknowns.read(() => list(grant.props.operations).map((op) => String(op)));
      const grantee = unknowns.read(() => str(grant.props.granteePrincipal));
      if (operations === UNKNOWN || grantee === UNKNOWN) continue;
      const granted = operations.filter((op) => ["Decrypt", "ReEncryptFrom", "CreateGrant"].includes(op));
      if (granted.length === 0 || (granted.every((op) => op === "Decrypt") && isController(grantee ?? ""))) continue;
      if (keyIdNamesSops(grant)) {
        reportViolation(`grant to ${q(grantee ?? "")} on the SOPS key allows ${granted.join(", ")}; only kustomize-controller's IRSA role may decrypt, through the key policy`, grant.urn);
      } else {
        const keyId = Unknowns.peek(() => str(grant.props.keyId)) ?? "";
        reportViolation(
          `grant to ${q(grantee ?? "")} on key ${q(keyId)} allows ${granted.join(", ")}, and a key named by a literal id may be the SOPS key; reference the key resource (keyId: key.keyId) so the pack can tell`,
          grant.urn,
        );
      }
    }
    unknowns.rethrow();
  },
};

/** The SOPS rules. */
export const sopsPolicies = [fluxSecretsSopsOnly, sopsKeyDecryptOnlyController];
