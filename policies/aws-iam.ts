/**
 * IAM: least-privilege policy documents, and web-identity trust pinned to exactly one workload —
 * one repository and ref for GitHub Actions roles, one service account for IRSA roles.
 *
 * Documents are read from every place a program can put one: a role's `assumeRolePolicy` and
 * `inlinePolicies`, `aws.iam.RolePolicy`, `aws.iam.Policy`, `aws.iam.UserPolicy` and
 * `aws.iam.GroupPolicy`. Attaching the AWS managed AdministratorAccess policy (a role's
 * `managedPolicyArns` or a policy attachment) counts as `Action: "*"`.
 */
import type { PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { conditionValues, isEveryone, list, ofTypes, parseDocument, q, record, str, UNKNOWN, Unknowns, type Statement } from "./support";

const ROLE = "aws:iam/role:Role";
const POLICY_DOCUMENT_TYPES = ["aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy", "aws:iam/userPolicy:UserPolicy", "aws:iam/groupPolicy:GroupPolicy"];
const OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider";
/** Resources that attach a managed policy by ARN (`policyArn`). */
const ATTACHMENT_TYPES = [
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  "aws:iam/userPolicyAttachment:UserPolicyAttachment",
  "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
  "aws:iam/policyAttachment:PolicyAttachment",
];
/** The AWS managed policy whose document is `Action: "*"` on `Resource: "*"`. */
const ADMINISTRATOR_ACCESS = /^arn:aws[\w-]*:iam::aws:policy\/AdministratorAccess$/;

/** Managed policy ARNs a resource attaches, with where they sit. */
function attachedPolicyArns(type: string, props: Record<string, unknown>, unknowns: Unknowns): { label: string; arn: string }[] {
  if (ATTACHMENT_TYPES.includes(type)) {
    const arn = unknowns.read(() => str(props.policyArn));
    return typeof arn === "string" ? [{ label: "policyArn", arn }] : [];
  }
  if (type === ROLE) {
    const arns = unknowns.read(() => list(props.managedPolicyArns).map((arn) => str(arn)));
    if (arns === UNKNOWN) return [];
    return arns.flatMap((arn, index) => (arn === undefined ? [] : [{ label: `managedPolicyArns[${index}]`, arn }]));
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
 * Actions that have no resource-level permissions, so a policy can only grant them on Resource "*"
 * (AWS Service Authorization Reference: no resource type listed for them). All of them read
 * metadata only: the registry login token, security groups and their rules, KMS alias names.
 */
export const RESOURCE_WILDCARD_ACTIONS: readonly string[] = [
  "ecr:GetAuthorizationToken",
  "ec2:DescribeSecurityGroups",
  "ec2:DescribeSecurityGroupRules",
  "kms:ListAliases",
];

function isServiceWildcard(action: string): boolean {
  return action === "*" || /^[\w-]+:\*$/.test(action);
}

/** IAM wildcards: no `*` or `service:*` actions; `Resource: "*"` only for allow-listed actions. */
export const iamNoWildcards: ResourceValidationPolicy = {
  name: "iam-no-wildcards",
  description: "IAM policy documents allow no \"*\" or \"service:*\" actions and no NotAction (nor is AdministratorAccess attached), use Resource \"*\" only for allow-listed actions that have no resource-level permissions (ecr:GetAuthorizationToken and a few metadata reads), and no role trusts Principal \"*\".",
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
    if (args.type !== ROLE && !POLICY_DOCUMENT_TYPES.includes(args.type) && !ATTACHMENT_TYPES.includes(args.type)) return;
    const { resourceWildcardActions = [...RESOURCE_WILDCARD_ACTIONS] } = args.getConfig<{ resourceWildcardActions?: string[] }>();
    const allowed = resourceWildcardActions.map((action) => action.toLowerCase());
    const unknowns = new Unknowns();
    for (const { label, arn } of attachedPolicyArns(args.type, args.props, unknowns)) {
      if (ADMINISTRATOR_ACCESS.test(arn)) reportViolation(`${label} attaches AdministratorAccess, which allows "*" on every resource; attach a policy that lists the actions it needs`);
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
        if (statement.resources.includes("*") || statement.notResources.length > 0) {
          const broad = statement.actions.filter((action) => !allowed.includes(action.toLowerCase()));
          if (broad.length > 0 || statement.notActions.length > 0) {
            reportViolation(`${where} allows ${broad.map((action) => q(action)).join(", ") || "NotAction"} on every resource; only ${resourceWildcardActions.join(", ")} may use Resource "*"`);
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

function checkTrust(role: PolicyResource, statement: Statement, host: string, issuer: Issuer, reportViolation: ReportViolation): void {
  const where = `${issuer.label} (statement ${statement.id})`;
  const audiences = conditionValues(statement, ["StringEquals"], `${host}:aud`);
  if (audiences === undefined || audiences.length !== 1 || audiences[0] !== "sts.amazonaws.com") {
    reportViolation(`${where} must pin ${host}:aud to "sts.amazonaws.com" with StringEquals`, role.urn);
  }
  const subjects = [...(conditionValues(statement, ["StringEquals"], `${host}:sub`) ?? []), ...(conditionValues(statement, ["StringLike"], `${host}:sub`) ?? [])];
  if (subjects.length === 0) {
    reportViolation(`${where} must pin ${host}:sub with StringEquals to ${issuer.subjectForm}`, role.urn);
    return;
  }
  for (const subject of subjects) {
    if (/[*?]/.test(subject)) reportViolation(`${where} matches ${host}:sub ${q(subject)} with a wildcard; ${issuer.wildcardHint}`, role.urn);
    else if (!issuer.subject.test(subject)) reportViolation(`${where} pins ${host}:sub to ${q(subject)}; expected ${issuer.subjectForm}`, role.urn);
  }
}

/** A stack policy checking the trust of every role that trusts `issuer`. */
function trustPolicy(issuer: Issuer): StackValidationPolicy["validateStack"] {
  return (args, reportViolation) => {
    const unknowns = new Unknowns();
    for (const role of ofTypes(args.resources, [ROLE])) {
      const text = Unknowns.peek((): unknown => role.props.assumeRolePolicy);
      if (text === undefined) {
        // Unknown during preview: only a concern when it is built from a provider for this issuer.
        const providers = (role.propertyDependencies.assumeRolePolicy ?? []).filter((dep) => dep.type === OIDC_PROVIDER);
        if (providers.some((provider) => issuer.host.test(Unknowns.peek(() => str(provider.props.url)) ?? ""))) unknowns.read((): unknown => role.props.assumeRolePolicy);
        continue;
      }
      const parsed = unknowns.read(() => parseDocument(text));
      if (parsed === UNKNOWN || "error" in parsed) continue; // iam-no-wildcards reports documents that do not parse
      for (const statement of parsed.statements) {
        if (statement.effect !== "Allow") continue;
        const host = trustedHost(statement, issuer);
        if (host !== undefined) checkTrust(role, statement, host, issuer, reportViolation);
      }
    }
    unknowns.rethrow();
  };
}

/** IAM OIDC trust: GitHub Actions roles pin the audience and one repository's ref or environment. */
export const iamGithubOidcTrust: StackValidationPolicy = {
  name: "iam-github-oidc-trust",
  description: "Roles trusted by GitHub's OIDC provider pin aud to sts.amazonaws.com and sub exactly to one repository's branch, tag, environment or pull requests, without wildcards.",
  enforcementLevel: "mandatory",
  validateStack: trustPolicy(GITHUB),
};

/** IAM IRSA trust: roles trusted by the cluster's OIDC issuer pin one service account. */
export const iamIrsaTrust: StackValidationPolicy = {
  name: "iam-irsa-trust",
  description: "Roles trusted by an EKS cluster's OIDC issuer (IRSA) pin aud to sts.amazonaws.com and sub exactly to system:serviceaccount:<namespace>:<name>.",
  enforcementLevel: "mandatory",
  validateStack: trustPolicy(EKS),
};

/** The IAM rules, in table order. */
export const iamPolicies = [iamNoWildcards, iamGithubOidcTrust, iamIrsaTrust];
