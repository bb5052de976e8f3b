/**
 * IAM roles as the pack sees them: the resource types that give a role permissions, what a role can
 * do once all of them are read together (its inline policies, `aws.iam.RolePolicy` resources, the
 * managed policies it has attached), and who its trust policy lets in besides web identities.
 *
 * A role's permissions are spread over several resources, which only a stack policy sees together:
 * {@link roleWrites} joins them by property dependency (`role: role.name`) or by the role's known
 * name.
 */
import type { PolicyResource, ReportViolation, StackValidationPolicy } from "@pulumi/policy";
import { attached, knownNames, list, ofTypes, parseDocument, q, record, str, strings, UNKNOWN, Unknowns } from "./support";
import { isReadAction } from "./vocabulary";

export const ROLE = "aws:iam/role:Role";
export const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
export const MANAGED_POLICY = "aws:iam/policy:Policy";
export const POLICY_DOCUMENT_TYPES = [ROLE_POLICY, MANAGED_POLICY, "aws:iam/userPolicy:UserPolicy", "aws:iam/groupPolicy:GroupPolicy"];
/** Resources that attach a managed policy by ARN (`policyArn`). */
export const ATTACHMENT_TYPES = [
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  "aws:iam/userPolicyAttachment:UserPolicyAttachment",
  "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
  "aws:iam/policyAttachment:PolicyAttachment",
];
/** Resources that attach a list of managed policies (`policyArns`). */
export const EXCLUSIVE_ATTACHMENT_TYPES = [
  "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
  "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
  "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
];

/** What a role can change, as far as the stack tells. */
export interface RoleWrites {
  /** Each grant that writes, for messages: `"s3:PutObject" (inline policy deploy)`, `managed policy PowerUserAccess`. */
  readonly writes: string[];
  /** A document or attachment that is unknown during preview (read through `unknowns`, so the rule notes it). */
  readonly unknown: boolean;
}

/** The writing actions an Allow statement of `document` grants, labelled by `where`. */
function documentWrites(document: unknown, where: string): string[] {
  const parsed = parseDocument(document);
  // iam-no-wildcards reports a document that does not parse; here it may grant anything.
  if ("error" in parsed) return [`${where}, which ${parsed.error}`];
  const writes: string[] = [];
  for (const statement of parsed.statements) {
    if (statement.effect !== "Allow") continue;
    for (const action of statement.actions) if (!isReadAction(action)) writes.push(`${q(action)} (${where})`);
    if (statement.notActions.length > 0) writes.push(`NotAction (${where})`);
  }
  return writes;
}

/** The name a managed policy ARN ends with. */
function policyName(arn: string): string {
  return arn.split("/").pop() ?? arn;
}

/**
 * Everything `role` may change: Allow statements with an action that is not read-only (see
 * `isReadAction`) in its inline policies and its `aws.iam.RolePolicy` resources, and every managed
 * policy attached to it (a policy of this stack is judged by its document; any other, AWS managed
 * ones such as PowerUserAccess included, counts as writing: its document is not in the stack).
 */
export function roleWrites(role: PolicyResource, resources: readonly PolicyResource[], unknowns: Unknowns): RoleWrites {
  const writes: string[] = [];
  let unknown = false;
  const read = <T>(fn: () => T, resource: PolicyResource): T | undefined => {
    const value = unknowns.read(fn, resource);
    if (value === UNKNOWN) {
      unknown = true;
      return undefined;
    }
    return value;
  };
  const names = knownNames(role, ["name"]);
  const inline = read(() => list(role.props.inlinePolicies), role) ?? [];
  inline.forEach((raw, index) => {
    const entry = record(raw) ?? {};
    const label = `inline policy ${Unknowns.peek(() => str(entry.name)) ?? `#${index}`}`;
    const document = read((): unknown => entry.policy, role);
    if (document !== undefined) writes.push(...documentWrites(document, label));
  });
  for (const policy of attached(resources, [ROLE_POLICY], "role", role, names)) {
    const document = read((): unknown => policy.props.policy, policy);
    if (document !== undefined) writes.push(...documentWrites(document, `role policy ${policy.name}`));
  }
  /** Where managed policies come from: the role's list, attachments (by `policyArn`), exclusive attachments (`policyArns`). */
  const sources: { from: PolicyResource; prop: string; arns: () => (string | undefined)[] }[] = [
    { from: role, prop: "managedPolicyArns", arns: () => strings(role.props.managedPolicyArns) },
  ];
  const attachments = [
    ...attached(resources, ["aws:iam/rolePolicyAttachment:RolePolicyAttachment"], "role", role, names),
    ...ofTypes(resources, ["aws:iam/policyAttachment:PolicyAttachment"]).filter(
      (a) => (a.propertyDependencies.roles ?? []).some((dep) => dep.urn === role.urn) || (Unknowns.peek(() => strings(a.props.roles)) ?? []).some((n) => names.includes(n)),
    ),
  ];
  for (const attachment of attachments) sources.push({ from: attachment, prop: "policyArn", arns: () => [str(attachment.props.policyArn)] });
  for (const exclusive of attached(resources, ["aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"], "roleName", role, names)) {
    sources.push({ from: exclusive, prop: "policyArns", arns: () => strings(exclusive.props.policyArns) });
  }
  for (const { from, prop, arns } of sources) {
    // A policy of this stack, attached by its ARN (known or not): judged by its own document.
    const declared = (from.propertyDependencies[prop] ?? []).filter((dep) => dep.type === MANAGED_POLICY);
    for (const policy of declared) {
      const document = read((): unknown => policy.props.policy, policy);
      if (document !== undefined) writes.push(...documentWrites(document, `managed policy ${policy.name}`));
    }
    if (declared.length > 0) continue;
    for (const arn of read(arns, from) ?? []) if (arn !== undefined) writes.push(`managed policy ${policyName(arn)}`);
  }
  return { writes: [...new Set(writes)], unknown };
}

// ---------------------------------------------------------------------------------------------
// Trust in AWS principals
// ---------------------------------------------------------------------------------------------

/** The account an AWS principal or a federated provider ARN names, if it names one. */
export function principalAccount(value: string): string | undefined {
  if (/^\d{12}$/.test(value)) return value;
  return /^arn:aws[\w-]*:(?:iam|sts)::(\d{12}):/.exec(value)?.[1];
}

/**
 * The stack's own AWS account: the one account the role's AWS provider may act in
 * (`allowedAccountIds`, which components/platform/platform.ts sets from `aws.accountId`).
 */
export function ownAccount(role: PolicyResource): string | undefined {
  const value = Unknowns.peek((): unknown => role.provider?.props.allowedAccountIds);
  // Provider inputs reach the engine JSON-encoded when they are not strings: `["111111111111"]`.
  let allowed = strings(value);
  if (typeof value === "string" && value.startsWith("[")) {
    try {
      allowed = strings(JSON.parse(value));
    } catch {
      allowed = [];
    }
  }
  return allowed.length === 1 && /^\d{12}$/.test(allowed[0] ?? "") ? allowed[0] : undefined;
}

function checkAccountTrust(role: PolicyResource, reportViolation: ReportViolation, unknowns: Unknowns): void {
  const text = unknowns.read((): unknown => role.props.assumeRolePolicy, role);
  if (text === UNKNOWN || text === undefined) return;
  const parsed = parseDocument(text);
  if ("error" in parsed) return; // iam-no-wildcards reports it
  const own = ownAccount(role);
  for (const statement of parsed.statements) {
    if (statement.effect !== "Allow") continue;
    for (const principal of statement.principals) {
      if (principal.kind !== "AWS" && principal.kind !== "Federated") continue;
      if (principal.value === "*") continue; // iam-no-wildcards: every principal
      if (principal.kind === "Federated" && !principal.value.startsWith("arn:")) continue; // a public identity provider (accounts.google.com, cognito-identity.amazonaws.com)
      const account = principalAccount(principal.value);
      if (own !== undefined && account === own) continue;
      const what = `role ${q(role.name)}: trust policy statement ${statement.id} names the ${principal.kind} principal ${q(principal.value)}`;
      const why =
        own === undefined
          ? "the stack's own account cannot be told (its AWS provider names no single allowedAccountIds entry), so no AWS account principal is accepted"
          : account === undefined
            ? `which names no account; only principals of this stack's account ${own} are accepted`
            : `of account ${account}, not this stack's account ${own}`;
      reportViolation(
        `${what}, ${why}: whoever administers that account could assume the role. The program's roles are assumed only through web identity (GitHub OIDC, IRSA); remove the principal or name one of account ${own ?? "<this stack's account>"}`,
        role.urn,
      );
    }
  }
}

/** IAM trust in accounts: no role is assumable from another AWS account. */
export const iamTrustOwnAccount: StackValidationPolicy = {
  name: "iam-trust-own-account",
  description:
    "No role's trust policy names an AWS account, IAM principal or identity provider outside the stack's own account (its AWS provider's allowedAccountIds); when that account cannot be told, no AWS account principal at all.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const unknowns = new Unknowns();
    for (const role of ofTypes(args.resources, [ROLE])) checkAccountTrust(role, reportViolation, unknowns);
    unknowns.rethrow();
  },
};
