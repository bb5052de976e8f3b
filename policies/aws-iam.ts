/**
 * IAM: least-privilege policy documents, and web-identity trust pinned to exactly one workload —
 * one repository and ref for GitHub Actions roles, one service account for IRSA roles.
 *
 * Documents are read from every place a program can put one: a role's `assumeRolePolicy` and
 * `inlinePolicies`, `aws.iam.RolePolicy`, `aws.iam.Policy`, `aws.iam.UserPolicy` and
 * `aws.iam.GroupPolicy`. Attaching an AWS managed policy that amounts to admin or to privilege
 * escalation (a role's `managedPolicyArns`, a policy attachment, an exclusive attachment list)
 * counts as `Action: "*"`.
 */
import type { PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { conditionValues, isEveryone, joinWords, list, ofTypes, parseDocument, q, record, str, UNKNOWN, Unknowns, type Statement } from "./support";
import { RESOURCE_WILDCARD_ACTIONS, STS_AUDIENCE } from "./vocabulary";
import { ATTACHMENT_TYPES, EXCLUSIVE_ATTACHMENT_TYPES, iamTrustOwnAccount, POLICY_DOCUMENT_TYPES, ROLE, roleWrites } from "./aws-iam-roles";

const OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider";

/**
 * AWS managed policies that amount to administrator access or let the holder grant itself more
 * (their documents as AWS publishes them in the managed policy reference,
 * docs.aws.amazon.com/aws-managed-policy/latest/reference/): what each one allows.
 * PowerUserAccess is not among them: it excludes IAM, Organizations and Account management, so it
 * cannot grant itself more; it is what the program's deploy role builds on.
 */
export const PRIVILEGED_MANAGED_POLICIES: Readonly<Record<string, string>> = {
  AdministratorAccess: 'allows "*" on every resource',
  "AdministratorAccess-Amplify": "grants account administrative permissions, IAM role and policy changes included",
  "AdministratorAccess-AWSElasticBeanstalk": "grants account administrative permissions, IAM role and policy changes included",
  IAMFullAccess: 'allows "iam:*" on every resource, so the holder can grant itself anything',
  AWSOrganizationsFullAccess: 'allows "organizations:*", including control over every account of the organization',
  // lambda:* on "*" and iam:PassRole on "*" for lambda.amazonaws.com: a function run as any role.
  AWSLambda_FullAccess: 'allows "lambda:*" and passing any role to Lambda, so the holder can run code as any role Lambda may assume',
};

function privilegedManagedPolicy(arn: string): { name: string; allows: string } | undefined {
  const name = /^arn:aws[\w-]*:iam::aws:policy\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/.exec(arn)?.[1];
  const allows = name === undefined ? undefined : PRIVILEGED_MANAGED_POLICIES[name];
  return name !== undefined && allows !== undefined ? { name, allows } : undefined;
}

/** Managed policy ARNs a resource attaches, with where they sit. */
function attachedPolicyArns(type: string, props: Record<string, unknown>, unknowns: Unknowns): { label: string; arn: string }[] {
  if (ATTACHMENT_TYPES.includes(type)) {
    const arn = unknowns.read(() => str(props.policyArn));
    return typeof arn === "string" ? [{ label: "policyArn", arn }] : [];
  }
  const listProp = type === ROLE ? "managedPolicyArns" : EXCLUSIVE_ATTACHMENT_TYPES.includes(type) ? "policyArns" : undefined;
  if (listProp !== undefined) {
    const arns = unknowns.read(() => list(props[listProp]).map((arn) => str(arn)));
    if (arns === UNKNOWN) return [];
    return arns.flatMap((arn, index) => (arn === undefined ? [] : [{ label: `${listProp}[${index}]`, arn }]));
  }
  return [];
}

/** A policy document of a resource and where it sits. */
interface Document {
  readonly label: string;
  readonly value: unknown;
  /** Trust policies name who may assume a role; they have no resources. */
  readonly trust: boolean;
}

function documentsOf(type: string, props: Record<string, unknown>, unknowns: Unknowns): Document[] {
  const documents: Document[] = [];
  const add = (label: string, read: () => unknown, trust: boolean) => {
    const value = unknowns.read(read);
    if (value !== undefined && value !== UNKNOWN) documents.push({ label, value, trust });
  };
  if (type === ROLE) {
    add("assumeRolePolicy", () => props.assumeRolePolicy, true);
    const inline = unknowns.read(() => list(props.inlinePolicies));
    if (inline !== UNKNOWN) {
      inline.forEach((raw, index) => {
        const entry = record(raw) ?? {};
        const name = Unknowns.peek(() => str(entry.name));
        add(`inlinePolicies[${index}]${name ? ` (${name})` : ""}`, () => entry.policy, false);
      });
    }
  } else if (POLICY_DOCUMENT_TYPES.includes(type)) {
    add("policy", () => props.policy, false);
  }
  return documents;
}

/**
 * True for an action pattern that covers a whole service or every service: `*`, `iam:*`, and the
 * same written with other wildcards (`iam:*?`, `*:*`, `i*:Get*`): the action part is only
 * wildcards, or the service part has one.
 */
export function isServiceWildcard(action: string): boolean {
  const colon = action.indexOf(":");
  if (colon < 0) return /[*?]/.test(action);
  const service = action.slice(0, colon);
  const name = action.slice(colon + 1);
  return /[*?]/.test(service) || /^[*?]+$/.test(name);
}

/**
 * True for a resource pattern that names every resource of its service: `*`, an ARN whose
 * resource part is only wildcards (`arn:aws:s3:::*` is every bucket, `arn:aws:kms:*:*:*` every
 * key), or an ARN cut short by a wildcard (`arn:*`).
 */
export function isEveryResource(resource: string): boolean {
  if (/^[*?]+$/.test(resource)) return true;
  const parts = resource.split(":");
  if (parts[0] !== "arn") return false;
  // A wildcard matches across colons too: `arn:*` and `arn:aws:*` are every ARN.
  if (parts.length < 6) return /^[*?]*\*[*?]*$/.test(parts[parts.length - 1] ?? "");
  // `arn:aws:s3:::*/*` is every object of every bucket.
  return /^[*?/]*\*[*?/]*$/.test(parts.slice(5).join(":"));
}

/** IAM wildcards: no `*` or `service:*` actions; `Resource: "*"` only for allow-listed actions. */
export const iamNoWildcards: ResourceValidationPolicy = {
  name: "iam-no-wildcards",
  description: "IAM policy documents allow no \"*\" or service-wide (\"iam:*\") actions and no NotAction, no AWS managed policy amounting to admin or privilege escalation (AdministratorAccess, IAMFullAccess, AWSOrganizationsFullAccess, ...) is attached, Resource \"*\" or a pattern naming every resource of a service (\"arn:aws:s3:::*\") is used only for allow-listed actions that have no resource-level permissions (ecr:GetAuthorizationToken and a few metadata reads), and no role trusts Principal \"*\".",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      resourceWildcardActions: {
        type: "array",
        items: { type: "string" },
        default: [...RESOURCE_WILDCARD_ACTIONS],
        description: "Actions that have no resource-level permissions and may use Resource \"*\".",
      },
    },
  },
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (args.type !== ROLE && !POLICY_DOCUMENT_TYPES.includes(args.type) && !ATTACHMENT_TYPES.includes(args.type) && !EXCLUSIVE_ATTACHMENT_TYPES.includes(args.type)) return;
    const { resourceWildcardActions = [...RESOURCE_WILDCARD_ACTIONS] } = args.getConfig<{ resourceWildcardActions?: string[] }>();
    const allowed = resourceWildcardActions.map((action) => action.toLowerCase());
    const unknowns = new Unknowns();
    for (const { label, arn } of attachedPolicyArns(args.type, args.props, unknowns)) {
      const privileged = privilegedManagedPolicy(arn);
      if (privileged) reportViolation(`${label} attaches ${privileged.name}, which ${privileged.allows}; attach a policy that lists the actions it needs`);
    }
    for (const document of documentsOf(args.type, args.props, unknowns)) {
      const parsed = unknowns.read(() => parseDocument(document.value));
      if (parsed === UNKNOWN) continue;
      if ("error" in parsed) {
        reportViolation(`${document.label} ${parsed.error}`);
        continue;
      }
      for (const statement of parsed.statements) {
        if (statement.effect !== "Allow") continue;
        const where = `${document.label} statement ${statement.id}`;
        for (const action of statement.actions.filter(isServiceWildcard)) reportViolation(`${where} allows ${q(action)}; list the actions it needs`);
        if (statement.notActions.length > 0) reportViolation(`${where} uses NotAction with Allow; list the actions it needs`);
        if (document.trust) {
          if (statement.principals.some(isEveryone) || statement.hasNotPrincipal) reportViolation(`${where} lets every AWS principal assume the role; name the principals that may assume it`);
          continue;
        }
        const everyResource = statement.resources.filter(isEveryResource);
        if (everyResource.length > 0 || statement.notResources.length > 0) {
          const broad = statement.actions.filter((action) => !allowed.includes(action.toLowerCase()));
          if (broad.length > 0 || statement.notActions.length > 0) {
            const named = everyResource.filter((resource) => resource !== "*");
            reportViolation(
              `${where} allows ${broad.map((action) => q(action)).join(", ") || "NotAction"} on every resource${named.length > 0 ? ` (${named.map((resource) => q(resource)).join(", ")} counts as "*")` : ""}; only ${resourceWildcardActions.join(", ")} may use Resource "*"`,
            );
          }
        }
      }
    }
    unknowns.rethrow();
  },
};

/** Which web-identity issuer a trust rule is about. */
interface Issuer {
  /** Shown in messages: `GitHub OIDC trust`, `IRSA trust`. */
  readonly label: string;
  /** Recognises the issuer host in a federated principal or an OIDC provider's URL. */
  readonly host: RegExp;
  /** The exact subject a statement must pin. */
  readonly subject: RegExp;
  /** The expected subject form, for messages. */
  readonly subjectForm: string;
  /** Why a wildcard subject is wrong, for messages. */
  readonly wildcardHint: string;
}

const GITHUB: Issuer = {
  label: "GitHub OIDC trust",
  host: /token\.actions\.githubusercontent\.com(\/[\w.-]+)?/,
  // GitHub's exact subjects: a branch or tag, an environment, or the repository's pull requests.
  subject: /^repo:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\/[A-Za-z0-9._-]+:(?:ref:refs\/(?:heads|tags)\/[^*?\s]+|environment:[^*?\s]+|pull_request)$/,
  subjectForm: "repo:<owner>/<repo>:ref:refs/heads/<branch>, repo:<owner>/<repo>:environment:<name> or repo:<owner>/<repo>:pull_request",
  wildcardHint: "name one repository and its branch or environment exactly",
};

const EKS: Issuer = {
  label: "IRSA trust",
  host: /oidc\.eks\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?\/id\/[A-Za-z0-9]+/,
  subject: /^system:serviceaccount:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?:[a-z0-9](?:[-.a-z0-9]*[a-z0-9])?$/,
  subjectForm: "system:serviceaccount:<namespace>:<service account>",
  wildcardHint: "name one namespace and service account exactly",
};

/** The issuer host a statement trusts (from its federated principals), if it is `issuer`. */
function trustedHost(statement: Statement, issuer: Issuer): string | undefined {
  for (const principal of statement.principals) {
    if (principal.kind !== "Federated") continue;
    const match = issuer.host.exec(principal.value);
    if (match) return match[0];
  }
  return undefined;
}

/** A subject a trust statement pins, with the statement. */
interface TrustedSubject {
  readonly statement: Statement;
  readonly subject: string;
}

/** Returns the exact subjects it accepts (wildcard and malformed ones are reported here). */
function checkTrust(role: PolicyResource, statement: Statement, host: string, issuer: Issuer, reportViolation: ReportViolation): TrustedSubject[] {
  const where = `${issuer.label} (statement ${statement.id})`;
  const audiences = conditionValues(statement, ["StringEquals"], `${host}:aud`);
  if (audiences === undefined || audiences.length !== 1 || audiences[0] !== STS_AUDIENCE) {
    reportViolation(`${where} must pin ${host}:aud to ${q(STS_AUDIENCE)} with StringEquals`, role.urn);
  }
  const subjects = [...(conditionValues(statement, ["StringEquals"], `${host}:sub`) ?? []), ...(conditionValues(statement, ["StringLike"], `${host}:sub`) ?? [])];
  if (subjects.length === 0) {
    reportViolation(`${where} must pin ${host}:sub with StringEquals to ${issuer.subjectForm}`, role.urn);
    return [];
  }
  const exact: TrustedSubject[] = [];
  for (const subject of subjects) {
    if (/[*?]/.test(subject)) reportViolation(`${where} matches ${host}:sub ${q(subject)} with a wildcard; ${issuer.wildcardHint}`, role.urn);
    else if (!issuer.subject.test(subject)) reportViolation(`${where} pins ${host}:sub to ${q(subject)}; expected ${issuer.subjectForm}`, role.urn);
    else exact.push({ statement, subject });
  }
  return exact;
}

/** Judges the exact subjects of one role, once every statement of its trust policy is read. */
type SubjectJudge = (role: PolicyResource, subjects: readonly TrustedSubject[], args: StackValidationArgs, reportViolation: ReportViolation, unknowns: Unknowns) => void;

/** A stack policy checking the trust of every role that trusts `issuer`. */
function trustPolicy(issuer: Issuer, judge?: SubjectJudge): StackValidationPolicy["validateStack"] {
  return (args, reportViolation) => {
    const unknowns = new Unknowns();
    for (const role of ofTypes(args.resources, [ROLE])) {
      const text = Unknowns.peek((): unknown => role.props.assumeRolePolicy);
      if (text === undefined) {
        // Unknown during preview: only a concern when it is built from a provider for this issuer.
        const providers = (role.propertyDependencies.assumeRolePolicy ?? []).filter((dep) => dep.type === OIDC_PROVIDER);
        if (providers.some((provider) => issuer.host.test(Unknowns.peek(() => str(provider.props.url)) ?? ""))) unknowns.read((): unknown => role.props.assumeRolePolicy, role);
        continue;
      }
      const parsed = unknowns.read(() => parseDocument(text), role);
      if (parsed === UNKNOWN || "error" in parsed) continue; // iam-no-wildcards reports documents that do not parse
      const subjects: TrustedSubject[] = [];
      for (const statement of parsed.statements) {
        if (statement.effect !== "Allow") continue;
        const host = trustedHost(statement, issuer);
        if (host !== undefined) subjects.push(...checkTrust(role, statement, host, issuer, reportViolation));
      }
      if (judge && subjects.length > 0) judge(role, subjects, args, reportViolation, unknowns);
    }
    unknowns.rethrow();
  };
}

interface GithubTrustConfig {
  readonly protectedBranches?: string[];
  readonly environments?: string[];
}

/**
 * Why anyone with write access to the repository can present this GitHub subject (undefined for a
 * protected environment branch or a known environment). Pull requests and branches: any pushed
 * branch runs its own workflow files. Tags: anyone with write access pushes one. Environments: a
 * job that names an environment the repository lacks creates it, without deployment rules.
 */
export function unguardedSubject(subject: string, config: GithubTrustConfig): string | undefined {
  const rest = /^repo:[^:]+:(.*)$/.exec(subject)?.[1] ?? "";
  const branches = config.protectedBranches ?? [];
  const listed = (names: readonly string[]) => (names.length === 0 ? "none configured" : joinWords(names.map((name) => q(name))));
  if (rest === "pull_request") return "the subject of every pull request's workflow run, whatever code the pull request brings";
  const branch = /^ref:refs\/heads\/(.+)$/.exec(rest)?.[1];
  if (branch !== undefined) {
    if (branches.includes(branch)) return undefined;
    return `the subject of any workflow run on branch ${q(branch)}, which is not a protected environment branch (${listed(branches)}): anyone who can push that branch presents it`;
  }
  const tag = /^ref:refs\/tags\/(.+)$/.exec(rest)?.[1];
  if (tag !== undefined) return `the subject of any workflow run on tag ${q(tag)}, which anyone with write access can push`;
  const environment = /^environment:(.+)$/.exec(rest)?.[1];
  const environments = config.environments ?? [];
  if (environment !== undefined && environments.length > 0 && !environments.includes(environment)) {
    return `the subject of GitHub environment ${q(environment)}, which is not a known environment (${listed(environments)}): a job naming an environment the repository lacks creates it without deployment rules`;
  }
  return undefined;
}

/** A role that writes may be assumed only by protected branches and known environments. */
const judgeGithubSubjects: SubjectJudge = (role, subjects, args, reportViolation, unknowns) => {
  const config = args.getConfig<GithubTrustConfig>();
  const unguarded = subjects.flatMap(({ statement, subject }) => {
    const why = unguardedSubject(subject, config);
    return why === undefined ? [] : [{ statement, subject, why }];
  });
  if (unguarded.length === 0) return;
  const { writes } = roleWrites(role, args.resources, unknowns);
  if (writes.length === 0) return; // read-only (or not known yet: the rule's note says so)
  const shown = `${writes.slice(0, 3).join(", ")}${writes.length > 3 ? ` and ${writes.length - 3} more` : ""}`;
  for (const { statement, subject, why } of unguarded) {
    reportViolation(
      `role ${q(role.name)} can write (${shown}), yet its GitHub OIDC trust (statement ${statement.id}) admits ${q(subject)}, ${why}; let a writing role trust only a GitHub environment with deployment rules (environment:<name>) or a protected environment branch, or make the role read-only`,
      role.urn,
    );
  }
};

/** IAM OIDC trust: GitHub Actions roles pin the audience and one repository's ref or environment; writing roles only protected ones. */
export const iamGithubOidcTrust: StackValidationPolicy = {
  name: "iam-github-oidc-trust",
  description:
    "Roles trusted by GitHub's OIDC provider pin aud to sts.amazonaws.com and sub exactly to one repository's branch, tag, environment or pull requests, without wildcards; a role that can write (any action beyond Get/List/Describe/BatchGet/Head and kms:Decrypt, or any attached AWS managed policy such as PowerUserAccess) trusts no pull_request subject, no tag, no branch but a protected environment branch, and no GitHub environment the config does not list.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      protectedBranches: {
        type: "array",
        items: { type: "string" },
        default: [],
        description: "Protected environment branches a writing role may trust: every environment's branch, which `npm run environments -- --write` writes into each policy config from the stack files.",
      },
      environments: {
        type: "array",
        items: { type: "string" },
        default: [],
        description: "GitHub environments (with deployment rules) a writing role may trust: every environment, and the app repositories' release environment, written by `npm run environments -- --write`. Empty: the pack knows no environments and does not check them.",
      },
    },
  },
  validateStack: trustPolicy(GITHUB, judgeGithubSubjects),
};

/** IAM IRSA trust: roles trusted by the cluster's OIDC issuer pin one service account. */
export const iamIrsaTrust: StackValidationPolicy = {
  name: "iam-irsa-trust",
  description: "Roles trusted by an EKS cluster's OIDC issuer (IRSA) pin aud to sts.amazonaws.com and sub exactly to system:serviceaccount:<namespace>:<name>.",
  enforcementLevel: "mandatory",
  validateStack: trustPolicy(EKS),
};

/** The IAM rules, in table order. */
export const iamPolicies = [iamNoWildcards, iamGithubOidcTrust, iamIrsaTrust, iamTrustOwnAccount];
