/**
 * GitHub: deploy keys read-only unless image automation writes to the repository (and never in a
 * stack that writes nothing: prod), one distinct key per repository, never RSA; no ruleset or branch
 * protection that anyone bypasses; environment-branch rulesets that guard their branch and require
 * a reviewed, checked pull request (./github-rulesets.ts).
 *
 * Which repositories image automation writes to is read from the stack itself: every Flux
 * ImageUpdateAutomation and the Git source its `sourceRef` names (a GitRepository, or the one a
 * FluxInstance syncs).
 */
import * as github from "@pulumi/github";
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { dependenciesOfType, list, ofTypes, q, record, str, UNKNOWN, Unknowns } from "./support";
import { githubRepoOfUrl, imageAutomations } from "./k8s-objects";
import { splitRepository } from "./vocabulary";
import { githubRulesetReview } from "./github-rulesets";

export { githubRulesetReview };

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
  return splitRepository(repository).owner !== undefined ? repository === full : splitRepository(full).name === repository;
}

/** Deploy key read-only: write access only where image automation pushes. */
export const githubDeployKeyReadOnly: StackValidationPolicy = {
  name: "github-deploy-key-read-only",
  description: "GitHub deploy keys are read-only, except on a repository that image automation in the same stack writes to, and without exception in a stack that never writes to Git (prod).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      writableRepositories: {
        type: "array",
        items: { type: "string" },
        default: [],
        description: "Repositories (owner/name) written by automation declared outside this stack.",
      },
      allowWrite: {
        type: "boolean",
        default: true,
        description: "Whether any key of this stack may write; false for a stack that never writes to Git (prod).",
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const { writableRepositories = [], allowWrite = true } = args.getConfig<{ writableRepositories?: string[]; allowWrite?: boolean }>();
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
      if (!allowWrite) {
        reportViolation(`deploy key for repository ${q(repository ?? "(unknown)")} has write access; every key of this stack is read-only (it never writes to Git); set readOnly: true`, key.urn);
        continue;
      }
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

/** No bypass: no ruleset names a bypass actor, no classic branch protection exempts admins. */
export const githubNoBypass: ResourceValidationPolicy = {
  name: "github-no-bypass",
  description: "No repository or organization ruleset has bypass actors and every classic branch protection applies to admins: nobody, deploy keys and Apps included, pushes past review.",
  enforcementLevel: "mandatory",
  validateResource: [
    validateResourceOfType(github.RepositoryRuleset, (ruleset, _args, reportViolation) => bypassActorsViolation(ruleset.bypassActors, reportViolation)),
    validateResourceOfType(github.OrganizationRuleset, (ruleset, _args, reportViolation) => bypassActorsViolation(ruleset.bypassActors, reportViolation)),
    validateResourceOfType(github.BranchProtection, (protection, _args, reportViolation) => enforceAdminsViolation(protection.enforceAdmins, reportViolation)),
    validateResourceOfType(github.BranchProtectionV3, (protection, _args, reportViolation) => enforceAdminsViolation(protection.enforceAdmins, reportViolation)),
  ],
};

function bypassActorsViolation(actors: unknown, reportViolation: (message: string) => void): void {
  const named = list(actors).map((actor) => str(record(actor)?.actorType) ?? "unknown");
  if (named.length === 0) return;
  reportViolation(
    `ruleset lets ${named.join(", ")} bypass it; remove bypassActors: image automation reaches the environment branch by a pull request that merges itself once the checks pass`,
  );
}

function enforceAdminsViolation(enforceAdmins: boolean | undefined, reportViolation: (message: string) => void): void {
  if (enforceAdmins !== true) reportViolation("branch protection lets admins bypass it; set enforceAdmins: true (or use a ruleset without bypass actors)");
}

/** The GitHub rules, in table order. */
/**
 * A repository's (or organization's) GitHub Actions settings: a read-only workflow token unless a
 * workflow asks for more, and Actions never approving pull requests, else any workflow a pull
 * request adds could approve that pull request as github-actions[bot]. Both written out, so the
 * provider's or GitHub's defaults never decide.
 */
export const githubActionsSettings: ResourceValidationPolicy = {
  name: "github-actions-settings",
  description: "Declared GitHub Actions workflow permissions give workflows a read-only token by default and never let GitHub Actions approve pull requests, both set explicitly.",
  enforcementLevel: "mandatory",
  validateResource: [
    validateResourceOfType(github.WorkflowRepositoryPermissions, (settings, _args, reportViolation) => actionsSettingsViolation(settings, reportViolation)),
    validateResourceOfType(github.ActionsOrganizationWorkflowPermissions, (settings, _args, reportViolation) => actionsSettingsViolation(settings, reportViolation)),
  ],
};

function actionsSettingsViolation(settings: { defaultWorkflowPermissions?: string; canApprovePullRequestReviews?: boolean }, reportViolation: (message: string) => void): void {
  if (settings.defaultWorkflowPermissions !== "read") {
    reportViolation(`defaultWorkflowPermissions is ${JSON.stringify(settings.defaultWorkflowPermissions ?? null)}; set "read": a workflow asks for the write scopes it needs`);
  }
  if (settings.canApprovePullRequestReviews !== false) {
    reportViolation(`canApprovePullRequestReviews is ${JSON.stringify(settings.canApprovePullRequestReviews ?? null)}; set false: otherwise a pull request's own workflow can approve it`);
  }
}

export const githubPolicies = [githubDeployKeyReadOnly, githubDeployKeyUnique, githubNoBypass, githubRulesetReview, githubActionsSettings];
