/**
 * What the program declares that a credential can reach, for the credential table
 * (./credential-table.ts): every AWS identity with the actions it allows and the OIDC subjects it
 * trusts, and the secrets in a stack's state that a role decrypting the state can read.
 */
import { DRIFT_READER_GROUP } from "../../components/aws/ci-identity";
import type { PlanResult, RecordedResource } from "../engine";
import { isReadAction } from "../../policies/vocabulary";

export { isReadAction };

const GITHUB_HOST = "token.actions.githubusercontent.com";

/**
 * Stack config secrets, which any role that decrypts the state (the preview and drift roles) can
 * read, and what each can write (null: nothing). A secret key missing here fails the trust-boundary
 * test until it is classified.
 */
export const CONFIG_SECRETS: Readonly<Record<string, string | null>> = {
  "gitops-platform:githubToken": "GitHub, with every right of the token",
  "gitops-platform:notificationsAppPrivateKey": "commit statuses on the config and app repositories (the commit-status App)",
  "gitops-platform:notificationsAlertAddress": "messages to the alert channel it addresses (a chat webhook URL)",
  "gitops-platform:notificationsAlertHmacKey": null,
};

/** A secret in a stack's state that a role decrypting the state can read. */
export interface StateSecret {
  readonly stack: string;
  readonly name: string;
  /** What it can write, or null. */
  readonly writes: string | null;
  /**
   * A deploy key's private half. Listed, not judged here: which keys may be read-write and where
   * they may push is the policy pack's (`github-deploy-key-read-only`) and the rulesets' business.
   */
  readonly deployKey?: boolean;
}

/** The credentials in one stack's state: config secrets, deploy keys' private halves, generated tokens. */
export function stateSecretsOf(stack: string, plan: PlanResult, secretKeys: readonly string[]): StateSecret[] {
  const secrets: StateSecret[] = secretKeys.map((key) => ({
    stack,
    name: `config ${key}`,
    writes: key in CONFIG_SECRETS ? (CONFIG_SECRETS[key] ?? null) : `unclassified stack secret ${key}`,
  }));
  const text = (value: unknown) => (typeof value === "string" ? value : "?");
  const owner = text(plan.resources.find((r) => r.type === "pulumi:providers:github")?.inputs.owner);
  for (const key of plan.resources.filter((r) => r.type === "tls:index/privateKey:PrivateKey")) {
    const deployKey = plan.resources.find((r) => r.type === "github:index/repositoryDeployKey:RepositoryDeployKey" && (r.propertyDependencies.key ?? []).includes(key.urn));
    if (deployKey === undefined) {
      secrets.push({ stack, name: `private key ${key.name}`, writes: `unclassified private key ${key.name}` });
      continue;
    }
    const repository = text(deployKey.inputs.repository);
    // Where a ruleset lets deploy keys bypass it, the key pushes straight to the guarded branch.
    const bypassed = plan.resources
      .filter((r) => r.type === "github:index/repositoryRuleset:RepositoryRuleset" && r.inputs.repository === repository)
      .filter((r) => asList(r.inputs.bypassActors).length > 0 && JSON.stringify(r.inputs.bypassActors).includes("DeployKey"))
      .flatMap((r) => asList(((r.inputs.conditions ?? {}) as { refName?: { includes?: unknown } }).refName?.includes));
    const writes =
      deployKey.inputs.readOnly !== false
        ? null
        : bypassed.length > 0
          ? `pushes to ${owner}/${repository}, past the ruleset of ${bypassed.join(", ")} (deploy keys may bypass it)`
          : `pushes to ${owner}/${repository} where no ruleset guards the branch (the automation branch)`;
    secrets.push({ stack, name: `deploy key ${key.name}`, writes, deployKey: true });
  }
  for (const password of plan.resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword")) {
    // The receiver's token: it can only make Flux fetch sooner.
    secrets.push({ stack, name: `generated ${password.name}`, writes: null });
  }
  return secrets;
}

/** An AWS identity the program declares, with what it allows. */
export interface RoleAccess {
  readonly stack: string;
  readonly name: string;
  /** The GitHub OIDC subjects it trusts (`repo:o/r:pull_request`, ...). */
  readonly subjects: readonly string[];
  /** Allowed actions that change something, and managed policies that allow such actions. */
  readonly writes: readonly string[];
  /** Its Kubernetes access on the cluster: `cluster-admin`, `view`, `drift reader (get/list/watch)`, `none`. */
  readonly kubernetes: string;
  readonly kubernetesWrites: boolean;
  /** It may decrypt the stack's state (and so read every secret in it). */
  readonly readsState: boolean;
}

export type Json = Record<string, unknown>;


function statementsOf(document: unknown): Json[] {
  const parsed = (typeof document === "string" ? JSON.parse(document) : document) as { Statement?: Json | Json[] };
  return ([] as Json[]).concat(parsed.Statement ?? []);
}

export function asList(value: unknown): string[] {
  return ([] as unknown[]).concat(value ?? []).map(String);
}

/**
 * The roles of one stack: which resource belongs to which role from a preview run (it records the
 * dependencies), the documents from `settled`, a run with provider outputs where every document is
 * known, as at `up` (matched by resource name).
 */
export function rolesOf(stack: string, plan: PlanResult, settled: PlanResult = plan): RoleAccess[] {
  const dependsOn = (resource: RecordedResource, key: string, urn: string) => (resource.propertyDependencies[key] ?? []).includes(urn);
  const documentOf = (resource: RecordedResource): unknown =>
    typeof resource.inputs.policy === "string" ? resource.inputs.policy : settled.resources.find((r) => r.type === resource.type && r.name === resource.name)?.inputs.policy;
  return plan.resources
    .filter((r) => r.type === "aws:iam/role:Role")
    .map((role) => {
      const subjects = statementsOf(role.inputs.assumeRolePolicy).flatMap((s) => {
        const condition = (s.Condition ?? {}) as Record<string, Record<string, unknown>>;
        return Object.values(condition).flatMap((test) => asList(test[`${GITHUB_HOST}:sub`]));
      });
      const writes: string[] = [];
      let readsState = false;
      for (const policy of plan.resources.filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && dependsOn(r, "role", role.urn))) {
        const document = documentOf(policy);
        if (typeof document !== "string") {
          writes.push(`${policy.name}: a document not known before deploy`);
          continue;
        }
        for (const statement of statementsOf(document)) {
          if (statement.Effect !== "Allow") continue;
          writes.push(...asList(statement.Action).filter((action) => !isReadAction(action)));
          if (asList(statement.Action).includes("kms:Decrypt")) readsState = true;
        }
      }
      for (const attachment of plan.resources.filter((r) => r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment" && dependsOn(r, "role", role.urn))) {
        // Not judged: an AWS managed policy writes (PowerUserAccess) or reads data (ReadOnlyAccess
        // reads every object and secret value), neither of which a pull request's credential may.
        writes.push(`managed policy ${String(attachment.inputs.policyArn).split("/").pop()}`);
      }
      const associations = plan.resources.filter((r) => r.type === "aws:eks/accessPolicyAssociation:AccessPolicyAssociation" && dependsOn(r, "principalArn", role.urn));
      const entries = plan.resources.filter((r) => r.type === "aws:eks/accessEntry:AccessEntry" && dependsOn(r, "principalArn", role.urn));
      const kinds = associations.map((a) => String(a.inputs.policyArn).split("/").pop() ?? "");
      const groups = entries.flatMap((e) => asList(e.inputs.kubernetesGroups));
      let kubernetes = "none";
      let kubernetesWrites = false;
      if (kinds.length > 0) {
        kubernetes = kinds.map((k) => (k === "AmazonEKSViewPolicy" ? "view (no Secrets)" : k === "AmazonEKSClusterAdminPolicy" ? "cluster-admin" : k)).join(", ");
        kubernetesWrites = kinds.some((k) => k !== "AmazonEKSViewPolicy");
      } else if (groups.length > 0) {
        kubernetes = groups.map((g) => (g === DRIFT_READER_GROUP ? "drift reader (get/list/watch the managed kinds, get the managed Secrets)" : `group ${g}`)).join(", ");
        kubernetesWrites = groups.some((g) => g !== DRIFT_READER_GROUP);
      }
      // A managed policy may decrypt too.
      if (writes.some((w) => w.startsWith("managed policy"))) readsState = true;
      return { stack, name: role.name, subjects, writes: [...new Set(writes)], kubernetes, kubernetesWrites, readsState };
    });
}
