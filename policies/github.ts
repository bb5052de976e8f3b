/**
 * GitHub deploy keys: read-only unless image automation writes to the repository, one distinct
 * key per repository, and never RSA.
 *
 * Which repositories image automation writes to is read from the stack itself: every Flux
 * ImageUpdateAutomation and the Git source its `sourceRef` names (a GitRepository, or the one a
 * FluxInstance syncs).
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { dependenciesOfType, githubRepoOfUrl, imageAutomations, ofTypes, q, str, UNKNOWN, Unknowns } from "./support";

const DEPLOY_KEY = "github:index/repositoryDeployKey:RepositoryDeployKey";
const PRIVATE_KEY = "tls:index/privateKey:PrivateKey";

/** SSH public key types GitHub accepts that are not RSA or DSA. */
const MODERN_KEY_TYPES = /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) /;

/** A deploy key's repository as written (`name` or `owner/name`), lower-cased. */
function repositoryOf(key: PolicyResource): string | undefined {
  return Unknowns.peek(() => str(key.props.repository))?.toLowerCase();
}

/** True when `repository` (`name` or `owner/name`) is the repository `full` (`owner/name`). */
function sameRepository(repository: string, full: string): boolean {
  return repository.includes("/") ? repository === full : full.split("/")[1] === repository;
}

/** Deploy key read-only: write access only where image automation pushes. */
export const githubDeployKeyReadOnly: StackValidationPolicy = {
  name: "github-deploy-key-read-only",
  description: "GitHub deploy keys are read-only, except on a repository that image automation in the same stack writes to.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      writableRepositories: {
        type: "array",
        items: { type: "string" },
        default: [],
        description: "Repositories (owner/name) written by automation declared outside this stack.",
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const { writableRepositories = [] } = args.getConfig<{ writableRepositories?: string[] }>();
    const unknowns = new Unknowns();
    const written = new Set(writableRepositories.map((repo) => repo.toLowerCase()));
    for (const automation of imageAutomations(args.resources)) {
      const url = automation.source?.url;
      const repo = url ? githubRepoOfUrl(url) : undefined;
      if (repo) written.add(repo);
    }
    for (const key of ofTypes(args.resources, [DEPLOY_KEY])) {
      const readOnly = unknowns.read((): unknown => key.props.readOnly);
      // The provider's default is read-only.
      if (readOnly === undefined || readOnly === true || readOnly === UNKNOWN) continue;
      const repository = repositoryOf(key);
      if (repository !== undefined && [...written].some((full) => sameRepository(repository, full))) continue;
      reportViolation(
        `deploy key for repository ${q(repository ?? "(unknown)")} has write access but no image automation in this stack writes to that repository; set readOnly: true`,
        key.urn,
      );
    }
    unknowns.rethrow();
  },
};

/** Deploy key unique: one key per repository, no key pair shared, ED25519 or ECDSA only. */
export const githubDeployKeyUnique: StackValidationPolicy = {
  name: "github-deploy-key-unique",
  description: "Each repository has one deploy key, no public key is used twice, and keys are ED25519 or ECDSA (P-256 or stronger), never RSA.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const unknowns = new Unknowns();
    const byRepository = new Map<string, PolicyResource>();
    const byKey = new Map<string, PolicyResource>();
    for (const key of ofTypes(args.resources, [DEPLOY_KEY])) {
      const repository = repositoryOf(key);
      if (repository !== undefined) {
        const first = byRepository.get(repository);
        if (first) reportViolation(`repository ${q(repository)} already has the deploy key ${q(first.name)}; declare one key per repository`, key.urn);
        else byRepository.set(repository, key);
      }

      // Where the public key comes from: a tls.PrivateKey of this stack, or a literal key.
      const sources = dependenciesOfType(key, "key", [PRIVATE_KEY]);
      const identities: string[] = sources.map((source) => source.urn);
      if (sources.length === 0) {
        const literal = unknowns.read(() => str(key.props.key));
        if (typeof literal === "string") {
          identities.push(literal.trim().split(/\s+/).slice(0, 2).join(" "));
          if (!MODERN_KEY_TYPES.test(`${literal.trim()} `)) {
            reportViolation(`deploy key is a ${literal.trim().split(/\s+/)[0] ?? "unknown"} key; use ED25519 (or ECDSA), never RSA`, key.urn);
          }
        }
      }
      for (const identity of identities) {
        const first = byKey.get(identity);
        if (first) reportViolation(`deploy key reuses the public key of deploy key ${q(first.name)}; generate a distinct key per repository`, key.urn);
        else byKey.set(identity, key);
      }

      for (const source of sources) {
        const algorithm = unknowns.read(() => str(source.props.algorithm));
        if (algorithm === UNKNOWN) continue;
        if (algorithm !== "ED25519" && algorithm !== "ECDSA") {
          reportViolation(`deploy key uses the ${algorithm ?? "unset"} key ${q(source.name)}; use ED25519 (or ECDSA), never RSA`, key.urn);
        } else if (algorithm === "ECDSA") {
          // tls defaults to P224, which SSH does not support.
          const curve = unknowns.read(() => str(source.props.ecdsaCurve)) ?? "P224";
          if (curve !== UNKNOWN && !["P256", "P384", "P521"].includes(curve)) {
            reportViolation(`deploy key uses the ECDSA curve ${curve} (key ${q(source.name)}), which SSH does not accept; use P256 or stronger, or ED25519`, key.urn);
          }
        }
      }
    }
    unknowns.rethrow();
  },
};

/** The GitHub rules, in table order. */
export const githubPolicies = [githubDeployKeyReadOnly, githubDeployKeyUnique];
