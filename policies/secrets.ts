/**
 * Secret material: private keys and tokens appear only in properties whose provider stores them
 * as secrets (a Kubernetes Secret's data, a GitHub Actions secret, ...), and never in stack
 * outputs.
 *
 * Policies see values, not Pulumi's secret flag (the analyzer unwraps secrets), so the rule
 * recognises key material by its content: PEM and OpenSSH private keys (also base64-encoded) and
 * GitHub tokens. A value still unknown during preview counts when it is computed from a
 * tls.PrivateKey or is an output named like a secret: the rule then cannot decide and says so.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { SDK_SECRET_PROPERTIES } from "./sdk-secret-properties";
import { dependenciesOfType, q, UNKNOWN, Unknowns } from "./support";

const STACK = "pulumi:pulumi:Stack";
const PRIVATE_KEY = "tls:index/privateKey:PrivateKey";

/**
 * Public-key properties computed from a private key: they never hold key material, but while
 * unknown during preview they count as possibly holding it, so they are named here.
 */
const PUBLIC_KEY_PROPERTIES = ["github:index/repositoryDeployKey:RepositoryDeployKey#key", "github:index/userSshKey:UserSshKey#key"];

/**
 * `<type token>#<property>` pairs allowed to carry key material: the properties the provider SDKs
 * themselves keep secret (./sdk-secret-properties, derived from the SDKs' generated code), and
 * public-key properties computed from a private key.
 */
export const SECRET_PROPERTIES: readonly string[] = [...SDK_SECRET_PROPERTIES, ...PUBLIC_KEY_PROPERTIES];

const PRIVATE_KEY_PATTERN = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
const TOKEN_PATTERN = /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/;
const SECRET_NAME = /private|secret|token|password|credential|ssh|pem|identity/i;
const PUBLIC_NAME = /public|\.pub$|arn$|id$|name$/i;

/** What kind of secret a string holds, if any. */
export function secretKind(text: string): string | undefined {
  if (PRIVATE_KEY_PATTERN.test(text)) return "a private key";
  if (TOKEN_PATTERN.test(text)) return "a GitHub token";
  // Base64 of a PEM block starts with the encoding of "-----BEGIN".
  if (/^[A-Za-z0-9+/=\s]{40,}$/.test(text)) {
    const decoded = Buffer.from(text.replace(/\s+/g, ""), "base64").toString("latin1");
    if (PRIVATE_KEY_PATTERN.test(decoded)) return "a base64-encoded private key";
  }
  return undefined;
}

/** Walks a value; calls `found` for each string holding secret material, with its path. */
function scan(value: unknown, path: string, unknowns: Unknowns, found: (path: string, kind: string) => void): void {
  if (typeof value === "string") {
    const kind = secretKind(value);
    if (kind) found(path, kind);
    return;
  }
  if (value === null || typeof value !== "object") return;
  for (const key of Object.keys(value)) {
    const child = unknowns.read(() => (value as Record<string, unknown>)[key]);
    if (child === UNKNOWN) continue;
    scan(child, Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key, unknowns, found);
  }
}

/** Secret material: private keys and tokens only in secret-stored properties, never exported. */
export const secretMaterialPlaintext: StackValidationPolicy = {
  name: "secret-material-plaintext",
  description: "Private keys and tokens appear only in properties their provider stores as secrets (e.g. a Kubernetes Secret's data), never in other properties or stack outputs.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      secretProperties: {
        type: "array",
        items: { type: "string", pattern: "^[^#]+#[^#]+$" },
        default: [...SECRET_PROPERTIES],
        description: "<type token>#<property> pairs allowed to carry key material.",
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const { secretProperties = SECRET_PROPERTIES } = args.getConfig<{ secretProperties?: string[] }>();
    const allowed = new Set(secretProperties);
    const unknowns = new Unknowns();
    for (const resource of args.resources) {
      const stack = resource.type === STACK;
      for (const prop of Object.keys(resource.props)) {
        if (allowed.has(`${resource.type}#${prop}`)) continue;
        // Unknown parts of the value matter only where key material could flow in.
        const local = new Unknowns();
        const value = local.read((): unknown => resource.props[prop]);
        if (value !== UNKNOWN) scan(value, prop, local, (path, kind) => {
          reportViolation(
            stack
              ? `stack output ${q(path)} contains ${kind}; never export private keys or tokens, not even as secrets`
              : `${path} contains ${kind} in a property that is not stored as a secret; pass key material only through secret properties such as a Kubernetes Secret's data`,
            resource.urn,
          );
        });
        if (mayHoldSecret(resource, prop, stack)) unknowns.read(() => local.rethrow(), resource);
      }
    }
    unknowns.rethrow();
  },
};

/** Whether an unknown value could be secret material that the rule must see. */
function mayHoldSecret(resource: PolicyResource, prop: string, stack: boolean): boolean {
  if (stack) return SECRET_NAME.test(prop) && !PUBLIC_NAME.test(prop);
  return dependenciesOfType(resource, prop, [PRIVATE_KEY]).length > 0;
}

/** The secret rules. */
export const secretPolicies = [secretMaterialPlaintext];
