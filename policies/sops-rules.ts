/**
 * The SOPS rules: app secrets reach the cluster only as SOPS-encrypted files that Flux decrypts, and
 * only Flux's kustomize-controller can decrypt them.
 *
 * - `flux-secrets-sops-only`: no Kubernetes Secret in plaintext anywhere Flux applies — the
 *   files of the config repo's paths Flux syncs (the FluxInstance's spec.sync.path, and the
 *   Kustomizations of that source, declared or found there), inline patches of Flux objects, and
 *   Secrets the program declares that are not the platform's own credentials.
 * - `sops-key-decrypt-only-controller`: the SOPS key's policy (or a KeyPolicy replacing it) lets
 *   exactly kustomize-controller's IRSA role, by full ARN, decrypt — nobody else, not even through
 *   grants or re-encryption.
 *
 * The files are checked by the manifest scan in ./sops ({@link manifestSecretProblems}).
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { actionCovers, isEveryone, list, ofTypes, parseDocument, q, record, str, UNKNOWN, Unknowns } from "./support";
import { kubernetesKind, isFluxInstance, objectMeta } from "./k8s-objects";
import { FLUX_NAMESPACE, SOPS_KEY_TAG } from "./vocabulary";
import { manifestRootOf, manifestSecretProblems, normalizePath, patchWritesSecretData } from "./sops";

const SECRET = "kubernetes:core/v1:Secret";
const ROLE = "aws:iam/role:Role";
const KMS_KEY = "aws:kms/key:Key";
const KMS_KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy";
const KMS_GRANT = "aws:kms/grant:Grant";
const isKustomization = kubernetesKind("kustomize.toolkit.fluxcd.io", "Kustomization");

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
    const name = unknowns.read(() => str(sync.name) ?? objectMeta(instance).namespace ?? FLUX_NAMESPACE);
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
        description:
          "The config repository's checkout the synced paths are relative to: an absolute path, or a path relative to the root of the project the pack runs in (the nearest directory above the pack holding Pulumi.yaml and policies/PulumiPolicy.yaml). A published pack runs outside any project and needs an absolute path.",
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
    if (paths.length > 0) {
      const checkout = manifestRootOf(manifestRoot);
      const problems = "problem" in checkout ? [checkout.problem] : manifestSecretProblems(checkout.root, paths, synced.sources);
      for (const problem of problems) reportViolation(problem);
    }

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
      namespace: { type: "string", default: FLUX_NAMESPACE, description: "Flux's namespace, where that ServiceAccount lives, when the stack declares no FluxInstance." },
    },
  },
  validateStack: (args, reportViolation) => {
    const config = args.getConfig<{ serviceAccount?: string; namespace?: string }>();
    const serviceAccount = config.serviceAccount ?? "kustomize-controller";
    const instance = args.resources.find((r) => isFluxInstance(r.type));
    const namespace = (instance !== undefined ? objectMeta(instance).namespace : undefined) ?? config.namespace ?? FLUX_NAMESPACE;
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
