/**
 * The SOPS manifest scan: no Kubernetes Secret in plaintext in the files Flux applies. A Secret's
 * values must be SOPS-encrypted; secretGenerator sources must be wholly SOPS-encrypted files, never
 * literals; no patch (of a kustomization or an inline patch of a Flux object) may write Secret data.
 *
 * The rule `flux-secrets-sops-only` (./sops-rules) runs this scan over the paths Flux syncs; the
 * `check-secrets` command runs it over any directory, such as `plan --out` renders (their masked
 * `[secret]` values pass).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { load, loadAll } from "js-yaml";
import { list, q, record, str } from "./support";
import { SECRET_MASK } from "./vocabulary";

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
    if (values.every(({ value }) => value === SECRET_MASK)) return [];
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

/**
 * The root of the project this pack belongs to: the nearest directory above `from` holding both
 * `Pulumi.yaml` and the pack (`policies/PulumiPolicy.yaml`); undefined when there is none, as for
 * a published pack, which the Pulumi CLI installs and runs outside any project (its policy runner's
 * working directory is the pack's own folder, never the program's). Not a fixed `..`: the offline
 * tools load this module from a bundle next to their own entry file.
 */
export function repositoryRoot(from: string = __dirname): string | undefined {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml")) && fs.existsSync(path.join(dir, "policies", "PulumiPolicy.yaml"))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * The config repository's checkout the SOPS scan reads: `manifestRoot` itself when absolute, else
 * resolved against the project's root ({@link repositoryRoot}). A problem instead when there is no
 * such root or the checkout is not a directory: nothing could be checked.
 */
export function manifestRootOf(manifestRoot: string, from: string = __dirname): { root: string } | { problem: string } {
  const base = path.isAbsolute(manifestRoot) ? "" : repositoryRoot(from);
  if (base === undefined) {
    return {
      problem: `the pack runs from ${path.resolve(from)}, inside no checkout of its project (no Pulumi.yaml above it next to policies/PulumiPolicy.yaml), so manifestRoot ${JSON.stringify(manifestRoot)} is relative to nothing and no file Flux applies could be checked; set manifestRoot in the policy config to the absolute path of the config repository's checkout`,
    };
  }
  const root = path.resolve(base, manifestRoot);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
    return { problem: `manifestRoot ${root} is not a directory; no file Flux applies could be checked; set manifestRoot in the policy config to the config repository's checkout` };
  }
  return { root };
}
