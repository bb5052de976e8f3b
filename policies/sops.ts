/**
 * SOPS: app secrets reach the cluster only as SOPS-encrypted files that Flux decrypts, and only
 * Flux's kustomize-controller can decrypt them.
 *
 * - `flux-secrets-sops-only`: no Kubernetes Secret in plaintext anywhere Flux applies — the
 *   manifests under the config repo's Flux paths (clusters/, examples/: whatever is there), inline
 *   patches of Flux objects, and Secrets the program declares that are not the platform's own
 *   credentials.
 * - `sops-key-decrypt-only-controller`: the SOPS key's policy lets exactly kustomize-controller's
 *   IRSA role decrypt — nobody else, not even through grants or re-encryption.
 *
 * The manifest scan ({@link manifestSecretProblems}) is also the `check-secrets` command, which
 * checks any directory, such as `plan --out` renders (their masked `[secret]` values pass).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { loadAll } from "js-yaml";
import { actionCovers, escapeRegex, isEveryone, kubernetesKind, isFluxInstance, list, objectMeta, ofTypes, parseDocument, q, record, str, UNKNOWN, Unknowns } from "./support";

const SECRET = "kubernetes:core/v1:Secret";
const ROLE = "aws:iam/role:Role";
const KMS_KEY = "aws:kms/key:Key";
const KMS_KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy";
const KMS_GRANT = "aws:kms/grant:Grant";
const isKustomization = kubernetesKind("kustomize.toolkit.fluxcd.io", "Kustomization");

/** The label that marks the platform's own Secrets (deploy keys, the webhook token). */
export const PLATFORM_LABEL = { key: "app.kubernetes.io/part-of", value: "gitops-platform" } as const;

/** What a plan's `--out` render shows instead of a secret value. */
const MASKED = "[secret]";

/** A value SOPS encrypted (getsops/sops v3.11.0 aes/cipher.go: `ENC[AES256_GCM,data:...,iv:...,tag:...,type:...]`). */
const ENCRYPTED_VALUE = /^ENC\[AES256_GCM,data:[^\]]*,iv:[^\]]+,tag:[^\]]+,type:[a-z]+\]$/;

/** Directories of the config repo that Flux applies, relative to the repository root. */
export const FLUX_MANIFEST_PATHS = ["clusters", "examples"];

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

/** Whether a file that a secretGenerator reads is SOPS-encrypted (dotenv, or YAML/JSON/binary as JSON). */
function generatorSourceEncrypted(text: string): boolean {
  return /^sops_mac=ENC\[/m.test(text) || /^sops:\s*$/m.test(text) || /"sops"\s*:\s*\{/.test(text);
}

/** Problems of a kustomization's secretGenerator: literals are plaintext, sources must be SOPS files. */
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
      // files entries may be `key=path`.
      const source = entry.includes("=") ? entry.slice(entry.indexOf("=") + 1) : entry;
      const full = path.resolve(dir, source);
      if (!fs.existsSync(full)) continue; // kustomize reports a missing source itself
      if (!generatorSourceEncrypted(fs.readFileSync(full, "utf8"))) {
        problems.push(`${file}: secretGenerator ${q(name)} reads ${source}, which is not SOPS-encrypted; encrypt it with sops`);
      }
    }
  }
  return problems;
}

/** Problems of one manifest file's text, its path shown as `file`. */
export function manifestTextProblems(text: string, file: string, dir = "."): string[] {
  let docs: unknown[];
  try {
    docs = loadAll(text);
  } catch {
    // Unparsable: Flux would fail on it too, but a plaintext Secret in it must not pass unseen.
    if (/^kind:\s*["']?Secret["']?\s*$/m.test(text) && !/^sops:\s*$/m.test(text)) {
      return [`${file}: is not valid YAML and declares a Secret without SOPS metadata; fix the file so it can be checked`];
    }
    return [];
  }
  const problems: string[] = [];
  // A `kind: List` (what `kubectl get -o yaml` writes) carries its objects in `items`.
  const objects = docs.flatMap((raw) => (record(raw)?.kind === "List" ? list(record(raw)?.items) : [raw]));
  for (const raw of objects) {
    const doc = record(raw);
    if (!doc) continue;
    if (doc.kind === "Secret" && (doc.apiVersion === undefined || doc.apiVersion === "v1")) problems.push(...secretDocumentProblems(doc, file));
    if (doc.kind === "Kustomization" || doc.secretGenerator !== undefined) problems.push(...generatorProblems(doc, file, dir));
  }
  return problems;
}

/** Every YAML or JSON file under `dir` (sorted, hidden and node_modules directories skipped). */
function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string) => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(ya?ml|json)$/.test(entry.name)) out.push(full);
    }
  };
  walk(dir);
  return out;
}

/**
 * Problems of every manifest under `paths` (relative to `root`; missing ones are skipped), file
 * names shown relative to `root`.
 */
export function manifestSecretProblems(root: string, paths: readonly string[]): string[] {
  const problems: string[] = [];
  for (const relative of paths) {
    const dir = path.resolve(root, relative);
    if (!fs.existsSync(dir)) continue;
    const files = fs.statSync(dir).isDirectory() ? yamlFiles(dir) : [dir];
    for (const file of files) {
      problems.push(...manifestTextProblems(fs.readFileSync(file, "utf8"), path.relative(root, file) || file, path.dirname(file)));
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

/** Whether a patch writes Secret data: a strategic-merge Secret with data, or JSON 6902 operations on a Secret's data. */
function patchWritesSecretData(text: string, targetKind: string | undefined): boolean {
  let docs: unknown[];
  try {
    docs = loadAll(text);
  } catch {
    return false;
  }
  return docs.some((raw) => {
    if (Array.isArray(raw)) {
      return targetKind === "Secret" && raw.some((op) => /^\/(data|stringData)(\/|$)/.test(str(record(op)?.path) ?? "") && record(op)?.op !== "remove");
    }
    const doc = record(raw);
    return doc?.kind === "Secret" && (record(doc.data) !== undefined || record(doc.stringData) !== undefined);
  });
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

/** Flux applies only SOPS-encrypted Secrets; the program declares only the platform's own. */
export const fluxSecretsSopsOnly: StackValidationPolicy = {
  name: "flux-secrets-sops-only",
  description:
    "No Kubernetes Secret in plaintext where Flux applies manifests (the config repo's Flux paths, inline patches of Flux objects): only SOPS-encrypted Secrets; the program declares only the platform's own credential Secrets.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      manifestRoot: {
        type: "string",
        default: ".",
        description: "Directory the manifest paths are relative to, itself relative to the repository root (the nearest directory above the pack holding Pulumi.yaml).",
      },
      manifestPaths: {
        type: "array",
        items: { type: "string" },
        default: FLUX_MANIFEST_PATHS,
        description: "Directories (relative to manifestRoot) whose manifests Flux applies; missing ones are skipped.",
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const { manifestRoot = ".", manifestPaths = FLUX_MANIFEST_PATHS } = args.getConfig<{ manifestRoot?: string; manifestPaths?: string[] }>();
    for (const problem of manifestSecretProblems(path.resolve(repositoryRoot(), manifestRoot), manifestPaths)) reportViolation(problem);

    const unknowns = new Unknowns();
    for (const secret of ofTypes(args.resources, [SECRET])) {
      const labels = Unknowns.peek(() => record(record(secret.props.metadata)?.labels)) ?? {};
      if (labels[PLATFORM_LABEL.key] === PLATFORM_LABEL.value) continue;
      const meta = objectMeta(secret);
      reportViolation(
        `Secret ${q(`${meta.namespace ?? "(default)"}/${meta.name ?? secret.name}`)} is declared by the program but is not one of the platform's own credentials (label ${PLATFORM_LABEL.key}: ${PLATFORM_LABEL.value}); an app's secrets go SOPS-encrypted into its deploy path, where Flux decrypts them`,
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

/** Names of the stack's roles that kustomize-controller's ServiceAccount assumes (IRSA), where known. */
function controllerRoleNames(resources: readonly PolicyResource[], serviceAccount: string): string[] {
  const names: string[] = [];
  for (const role of ofTypes(resources, [ROLE])) {
    const trust = Unknowns.peek((): unknown => role.props.assumeRolePolicy);
    if (trust === undefined) continue;
    const parsed = parseDocument(trust);
    if ("error" in parsed) continue;
    const trusted = parsed.statements.some(
      (statement) =>
        statement.effect === "Allow" &&
        Object.entries(statement.conditions.StringEquals ?? {}).some(
          ([key, values]) => key.endsWith(":sub") && values.length === 1 && new RegExp(`^system:serviceaccount:[a-z0-9-]+:${escapeRegex(serviceAccount)}$`).test(values[0] ?? ""),
        ),
    );
    const name = Unknowns.peek(() => str(role.props.name));
    if (trusted && name !== undefined) names.push(name);
  }
  return names;
}

/** The role name of an IAM role ARN (`arn:aws:iam::1:role/path/name` -> `name`). */
function roleNameOf(arn: string): string | undefined {
  return /^arn:aws[\w-]*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/.exec(arn)?.[1];
}

/** The SOPS key's policy lets exactly kustomize-controller's IRSA role decrypt. */
export const sopsKeyDecryptOnlyController: StackValidationPolicy = {
  name: "sops-key-decrypt-only-controller",
  description:
    "The SOPS key (tagged gitops-platform/purpose: sops, or decryptable by kustomize-controller's IRSA role) lets exactly that role decrypt: no other principal, account root, wildcard, NotPrincipal or NotAction may decrypt, re-encrypt from it or create grants, and no grant hands decryption out.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      serviceAccount: { type: "string", default: "kustomize-controller", description: "The ServiceAccount that decrypts SOPS files." },
    },
  },
  validateStack: (args, reportViolation) => {
    const { serviceAccount = "kustomize-controller" } = args.getConfig<{ serviceAccount?: string }>();
    const controllers = controllerRoleNames(args.resources, serviceAccount);
    const isController = (arn: string) => controllers.includes(roleNameOf(arn) ?? "");
    const controllerLabel = controllers.length > 0 ? controllers.map((name) => q(name)).join(", ") : "none in this stack";
    const unknowns = new Unknowns();

    const sopsKeys: PolicyResource[] = [];
    const policies = [...ofTypes(args.resources, [KMS_KEY]), ...ofTypes(args.resources, [KMS_KEY_POLICY])];
    for (const resource of policies) {
      const tagged = resource.type === KMS_KEY && Unknowns.peek(() => record(resource.props.tags)?.[SOPS_KEY_TAG.key]) === SOPS_KEY_TAG.value;
      const text = unknowns.read((): unknown => resource.props.policy);
      if (text === UNKNOWN) {
        if (tagged) sopsKeys.push(resource);
        continue;
      }
      if (text === undefined) {
        if (tagged) {
          sopsKeys.push(resource);
          reportViolation("the SOPS key has no key policy, and AWS's default one lets every principal of the account that IAM allows decrypt; give it a policy that lets only kustomize-controller's IRSA role decrypt", resource.urn);
        }
        continue;
      }
      const parsed = parseDocument(text);
      if ("error" in parsed) continue;
      const allows = parsed.statements.filter((statement) => statement.effect === "Allow");
      const decrypts = (statement: (typeof allows)[number]) =>
        statement.notActions.length > 0 || DECRYPTING_ACTIONS.some((action) => statement.actions.some((pattern) => actionCovers(pattern, action)));
      const controllerDecrypts = allows.some((statement) => decrypts(statement) && statement.principals.some((p) => p.kind === "AWS" && isController(p.value)));
      if (!tagged && !controllerDecrypts) continue;
      sopsKeys.push(resource);
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
    }

    // Grants hand out operations outside the key policy.
    const keyUrns = new Set(sopsKeys.map((key) => key.urn));
    for (const grant of ofTypes(args.resources, [KMS_GRANT])) {
      if (!(grant.propertyDependencies.keyId ?? []).some((dep) => keyUrns.has(dep.urn))) continue;
      const operations = unknowns.read(() => list(grant.props.operations).map((op) => String(op)));
      const grantee = unknowns.read(() => str(grant.props.granteePrincipal));
      if (operations === UNKNOWN || grantee === UNKNOWN) continue;
      const granted = operations.filter((op) => ["Decrypt", "ReEncryptFrom", "CreateGrant"].includes(op));
      if (granted.length > 0 && !(granted.every((op) => op === "Decrypt") && isController(grantee ?? ""))) {
        reportViolation(`grant to ${q(grantee ?? "")} on the SOPS key allows ${granted.join(", ")}; only kustomize-controller's IRSA role may decrypt, through the key policy`, grant.urn);
      }
    }
    unknowns.rethrow();
  },
};

/** The SOPS rules. */
export const sopsPolicies = [fluxSecretsSopsOnly, sopsKeyDecryptOnlyController];
