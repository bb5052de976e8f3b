/**
 * ECR: repositories hold immutable, scanned images, clean up after themselves, and only the
 * roles that need them may pull or push.
 */
import * as aws from "@pulumi/aws";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { ECR_WRITE_ACTIONS } from "./vocabulary";
import { actionCovers, attached, escapeRegex, isEveryone, knownNames, list, num, ofTypes, parseDocument, q, record, str, UNKNOWN, Unknowns } from "./support";

const REPOSITORY_TYPES = ["aws:ecr/repository:Repository"];
const LIFECYCLE_TYPES = ["aws:ecr/lifecyclePolicy:LifecyclePolicy"];
const REGISTRY_SCANNING_TYPES = ["aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"];

/** ECR immutable: tags cannot be moved to another image. */
export const ecrImmutableTags: ResourceValidationPolicy = {
  name: "ecr-immutable-tags",
  description: "Every ECR repository has immutable image tags.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.ecr.Repository, (repository, _args, reportViolation) => {
    if (repository.imageTagMutability !== "IMMUTABLE") {
      reportViolation(`image tags must be immutable (imageTagMutability: IMMUTABLE), got ${q(repository.imageTagMutability ?? "MUTABLE")}`);
    }
  }),
};

function wildcardMatches(filter: string, name: string | undefined): boolean {
  if (filter === "*") return true;
  if (name === undefined) return false;
  return new RegExp(`^${filter.split("*").map(escapeRegex).join(".*")}$`).test(name);
}

/** ECR scan: scan on push, or enhanced registry scanning that covers the repository. */
export const ecrScanOnPush: StackValidationPolicy = {
  name: "ecr-scan-on-push",
  description: "Every ECR repository scans images on push, itself or through enhanced registry scanning that covers it.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const unknowns = new Unknowns();
    const enhancedFilters: string[] = [];
    for (const scanning of ofTypes(args.resources, REGISTRY_SCANNING_TYPES)) {
      const filters = unknowns.read(() => {
        if (scanning.props.scanType !== "ENHANCED") return [];
        return list(scanning.props.rules).flatMap((raw) => {
          const rule = record(raw) ?? {};
          if (rule.scanFrequency !== "SCAN_ON_PUSH" && rule.scanFrequency !== "CONTINUOUS_SCAN") return [];
          return list(rule.repositoryFilters).flatMap((f) => (record(f)?.filterType === "WILDCARD" ? [str(record(f)?.filter) ?? ""] : []));
        });
      }, scanning);
      if (filters !== UNKNOWN) enhancedFilters.push(...filters);
    }
    for (const repository of ofTypes(args.resources, REPOSITORY_TYPES)) {
      const scanOnPush = unknowns.read(() => record(repository.props.imageScanningConfiguration)?.scanOnPush, repository);
      if (scanOnPush === true || scanOnPush === UNKNOWN) continue;
      const name = knownNames(repository, ["name"])[0];
      if (enhancedFilters.some((filter) => wildcardMatches(filter, name))) continue;
      reportViolation("repository must scan images on push (imageScanningConfiguration.scanOnPush: true, or enhanced registry scanning that covers it)", repository.urn);
    }
    unknowns.rethrow();
  },
};

/** ECR lifecycle: untagged images expire, only the last N images are kept. */
export const ecrLifecyclePolicy: StackValidationPolicy = {
  name: "ecr-lifecycle-policy",
  description: "Every ECR repository has a lifecycle policy that expires untagged images and keeps only the last N images.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const unknowns = new Unknowns();
    for (const repository of ofTypes(args.resources, REPOSITORY_TYPES)) {
      const names = knownNames(repository, ["name"]);
      const label = `repository ${q(names[0] ?? repository.name)}`;
      const policies = attached(args.resources, LIFECYCLE_TYPES, "repository", repository, names);
      if (policies.length === 0) {
        reportViolation(`${label} has no lifecycle policy; declare an aws.ecr.LifecyclePolicy for it that expires untagged images and keeps the last N images`, repository.urn);
        continue;
      }
      for (const policy of policies) {
        const text = unknowns.read((): unknown => policy.props.policy, policy);
        if (text === UNKNOWN) continue;
        let document: unknown = text;
        if (typeof text === "string") {
          try {
            document = JSON.parse(text);
          } catch {
            reportViolation(`lifecycle policy of ${label} is not valid JSON`, policy.urn);
            continue;
          }
        }
        const selections = list(record(document)?.rules).map((rule) => ({
          selection: record(record(rule)?.selection) ?? {},
          expire: record(record(rule)?.action)?.type === "expire",
        }));
        const expiresUntagged = selections.some(
          ({ selection, expire }) => expire && (selection.tagStatus === "untagged" || (selection.tagStatus === "any" && selection.countType === "sinceImagePushed")),
        );
        const keepsLastN = selections.some(
          ({ selection, expire }) =>
            expire && (selection.tagStatus === "tagged" || selection.tagStatus === "any") && selection.countType === "imageCountMoreThan" && (num(selection.countNumber) ?? 0) > 0,
        );
        if (!expiresUntagged) reportViolation(`lifecycle policy of ${label} must expire untagged images (a rule selecting tagStatus untagged)`, policy.urn);
        if (!keepsLastN) reportViolation(`lifecycle policy of ${label} must keep only the last N images (a rule with countType imageCountMoreThan for tagged or any images)`, policy.urn);
      }
    }
    unknowns.rethrow();
  },
};

/** ECR policy: named roles only, no wildcard principal or action, a single pushing role. */
export const ecrRepositoryPolicy: ResourceValidationPolicy = {
  name: "ecr-repository-policy",
  description: "ECR repository policies grant pull and push only to named IAM roles, never to \"*\", and push to at most the configured number of roles (the app's CI role).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      maxPushPrincipals: { type: "integer", minimum: 1, default: 1, description: "How many principals may be granted push." },
    },
  },
  validateResource: validateResourceOfType(aws.ecr.RepositoryPolicy, (policy, args, reportViolation) => {
    const { maxPushPrincipals = 1 } = args.getConfig<{ maxPushPrincipals?: number }>();
    const parsed = parseDocument(policy.policy);
    if ("error" in parsed) {
      reportViolation(`repository policy ${parsed.error}`);
      return;
    }
    const pushers = new Set<string>();
    for (const statement of parsed.statements) {
      if (statement.effect !== "Allow") continue;
      const id = statement.id;
      if (statement.hasNotPrincipal) reportViolation(`statement ${id} uses NotPrincipal with Allow; name the roles that may pull or push`);
      for (const p of statement.principals) {
        if (isEveryone(p)) reportViolation(`statement ${id} grants to Principal "*"; grant pull to the reconciler role and push to the app's CI role only`);
        else if (p.kind !== "AWS" || !/^arn:aws[\w-]*:iam::\d{12}:role\/[^*]+$/.test(p.value)) {
          reportViolation(`statement ${id} grants to ${p.kind} ${q(p.value)}; grant only to IAM roles (arn:aws:iam::<account>:role/<name>)`);
        }
      }
      for (const action of statement.actions) {
        if (action === "*" || action.toLowerCase() === "ecr:*") reportViolation(`statement ${id} grants ${q(action)}; list the pull or push actions it needs`);
      }
      if (statement.notActions.length > 0) reportViolation(`statement ${id} uses NotAction with Allow; list the pull or push actions it needs`);
      if (statement.actions.some((action) => ECR_WRITE_ACTIONS.some((push) => actionCovers(action, push)))) {
        for (const p of statement.principals) if (!isEveryone(p)) pushers.add(p.value);
      }
    }
    if (pushers.size > maxPushPrincipals) {
      reportViolation(`push is granted to ${pushers.size} principals (${[...pushers].sort().join(", ")}); only the app's CI role may push`);
    }
  }),
};

/** The ECR rules, in table order. */
export const ecrPolicies = [ecrImmutableTags, ecrScanOnPush, ecrLifecyclePolicy, ecrRepositoryPolicy];
