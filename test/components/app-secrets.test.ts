import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { AppSecrets, appSecretsAliasArn, appSecretsKeyPolicy, KEY_ADMIN_ACTIONS, KEY_READ_ACTIONS, type AppSecretsArgs } from "../../components/aws/app-secrets";
import { irsaTrustPolicy } from "../../components/aws/image-reflector-role";
import { findResource, resourcesOfType, runProgram, type PlanResult } from "../../tools/engine";
import { main as plan } from "../../tools/plan/main";
import { ROOT, stackConfig } from "../support/reconciler";
import { STACKS } from "../support/stacks";
import { expectedIrsaTrust } from "../support/irsa";

const ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789";
const CI = "arn:aws:iam::111111111111:role/ci-orders";
const PERSON = "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AppTeam_0123";
const DEPLOY = "arn:aws:iam::111111111111:role/deploy";
const PREVIEW = "arn:aws:iam::111111111111:role/preview";
const BASE: AppSecretsArgs = {
  environment: "staging",
  oidcIssuerUrl: ISSUER,
  accountId: "111111111111",
  namespace: "flux-system",
  roleName: "staging-flux-sops-decrypt",
  encrypters: [CI, PERSON],
  administrators: [DEPLOY],
  readers: [PREVIEW],
};
const run = (args: Partial<AppSecretsArgs> = {}, preview = false) =>
  runProgram({
    stack: "staging",
    config: {},
    preview,
    program: () => {
      const secrets = new AppSecrets("secrets", { ...BASE, ...args });
      return { roleArn: secrets.roleArn, aliasName: secrets.aliasName };
    },
  });
const key = (r: PlanResult) => findResource(r, "aws:kms/key:Key", "secrets-key");
const role = (r: PlanResult) => findResource(r, "aws:iam/role:Role", "secrets-role").inputs;

describe("AppSecrets", async () => {
  const result = await run();

  it("uses the correct default values: a 30-day window, unprotected, the kustomize-controller ServiceAccount, partition aws, no readers", async () => {
    const bare = await run({ readers: undefined });
    expect(key(bare).inputs.deletionWindowInDays).toBe(30);
    expect([key(bare).protect, key(bare).retainOnDelete]).toEqual([false, false]);
    expect(JSON.parse(String(role(bare).assumeRolePolicy))).toEqual(JSON.parse(irsaTrustPolicy(ISSUER, "111111111111", "aws", "flux-system", "kustomize-controller")));
    const statements = (JSON.parse(String(key(bare).inputs.policy)) as { Statement: { Sid: string }[] }).Statement.map((s) => s.Sid);
    expect(statements).toEqual(["KeyAdministration", "DecryptByKustomizeController", "EncryptByAppTeams"]);
  });

  it("rotates the key, tags it as the SOPS key and names it by a fixed alias", () => {
    expect(key(result).inputs).toMatchObject({ enableKeyRotation: true, tags: { "gitops-platform/purpose": "sops" } });
    expect(findResource(result, "aws:kms/alias:Alias", "secrets-alias").inputs.name).toBe("alias/gitops-platform/staging/app-secrets");
    expect(result.outputs.aliasName).toBe("alias/gitops-platform/staging/app-secrets");
  });

  it("trusts exactly kustomize-controller's ServiceAccount, audience pinned, under the fixed role name", () => {
    expect(role(result).name).toBe("staging-flux-sops-decrypt");
    expect(JSON.parse(String(role(result).assumeRolePolicy))).toEqual(expectedIrsaTrust("flux-system", "kustomize-controller"));
    expect(result.outputs.roleArn).toBe("arn:aws:iam::111111111111:role/staging-flux-sops-decrypt");
  });

  it("lets exactly the controller's role decrypt, the app teams encrypt, the deploy role administer and the preview role read", () => {
    expect(JSON.parse(String(key(result).inputs.policy))).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Sid: "KeyAdministration", Effect: "Allow", Principal: { AWS: [DEPLOY] }, Action: [...KEY_ADMIN_ACTIONS], Resource: "*" },
        { Sid: "ReadKeyMetadata", Effect: "Allow", Principal: { AWS: [PREVIEW] }, Action: [...KEY_READ_ACTIONS], Resource: "*" },
        { Sid: "DecryptByKustomizeController", Effect: "Allow", Principal: { AWS: ["arn:aws:iam::111111111111:role/staging-flux-sops-decrypt"] }, Action: "kms:Decrypt", Resource: "*" },
        { Sid: "EncryptByAppTeams", Effect: "Allow", Principal: { AWS: [CI, PERSON] }, Action: "kms:Encrypt", Resource: "*" },
      ],
    });
    // The policy waits for the role: KMS refuses a principal that does not exist yet.
    expect(key(result).propertyDependencies.policy).toContain(findResource(result, "aws:iam/role:Role", "secrets-role").urn);
  });

  it("gives administrators nothing that reads or hands out the plaintext", () => {
    for (const action of ["kms:Decrypt", "kms:ReEncryptFrom", "kms:CreateGrant", "kms:Encrypt", "kms:GenerateDataKey"]) expect(KEY_ADMIN_ACTIONS).not.toContain(action);
    // Nor moving the alias .sops.yaml names to another key (UpdateAlias needs it on the key it leaves).
    expect(KEY_ADMIN_ACTIONS).not.toContain("kms:UpdateAlias");
    expect(KEY_ADMIN_ACTIONS).toEqual(expect.arrayContaining(["kms:CreateAlias", "kms:DeleteAlias", "kms:PutKeyPolicy"]));
  });

  it("replaces the alias (delete, then create) when the key changes, since nobody may update it", async () => {
    const alias = findResource(await run(), "aws:kms/alias:Alias", "secrets-alias");
    expect([alias.replaceOnChanges, alias.deleteBeforeReplace]).toEqual([["targetKeyId"], true]);
    expect(KEY_ADMIN_ACTIONS.every((action) => !action.includes("*"))).toBe(true);
  });

  it("leaves out an empty encrypter statement and lists each principal once", () => {
    const policy = JSON.parse(appSecretsKeyPolicy({ decrypter: "arn:aws:iam::1:role/d", encrypters: [], administrators: [DEPLOY, DEPLOY], readers: [] })) as { Statement: { Sid: string; Principal: { AWS: string[] } }[] };
    expect(policy.Statement.map((s) => [s.Sid, s.Principal.AWS])).toEqual([
      ["KeyAdministration", [DEPLOY]],
      ["DecryptByKustomizeController", ["arn:aws:iam::1:role/d"]],
    ]);
  });

  it("follows the window, protection, partition, namespace and ServiceAccount it is given", async () => {
    const custom = await run({ deletionWindowInDays: 7, protect: true, partition: "aws-us-gov", namespace: "flux", serviceAccount: "kc" });
    expect(key(custom).inputs.deletionWindowInDays).toBe(7);
    expect([key(custom).protect, key(custom).retainOnDelete]).toEqual([true, true]);
    expect(JSON.parse(String(role(custom).assumeRolePolicy))).toEqual(JSON.parse(irsaTrustPolicy(ISSUER, "111111111111", "aws-us-gov", "flux", "kc")));
    expect(custom.outputs.roleArn).toBe("arn:aws-us-gov:iam::111111111111:role/staging-flux-sops-decrypt");
  });

  it("refuses to build a key nobody could administer", async () => {
    await expect(run({ administrators: [] })).rejects.toThrow(
      "gitops-platform:aws:AppSecrets secrets: administrators: expected at least the role that runs `pulumi up` (AWS refuses a key policy that locks out its creator)",
    );
  });

  it("knows the key policy at preview, before the role exists: its ARN is built from the fixed name", async () => {
    const preview = await run({}, true);
    const statements = (JSON.parse(String(key(preview).inputs.policy)) as { Statement: { Sid: string; Principal: { AWS: string[] } }[] }).Statement;
    expect(statements.find((s) => s.Sid === "DecryptByKustomizeController")?.Principal.AWS).toEqual(["arn:aws:iam::111111111111:role/staging-flux-sops-decrypt"]);
  });

  it("lets the pack judge the SOPS key on a first preview of both stacks: every principal of the key policy is built from a fixed name", async () => {
    for (const stack of STACKS) {
      let text = "";
      expect(await plan(["--stack", stack, "--json"], { cwd: ROOT, stdout: (t) => (text += t), stderr: () => {} })).toBe(0);
      const doc = JSON.parse(text) as { resources: { type: string; inputs: Record<string, unknown> }[]; policyViolations: { policyName: string }[] };
      const sopsKey = doc.resources.find((r) => r.type === "aws:kms/key:Key" && (r.inputs.tags as Record<string, string> | undefined)?.["gitops-platform/purpose"] === "sops");
      expect(typeof sopsKey?.inputs.policy, stack).toBe("string");
      expect(String(sopsKey?.inputs.policy)).not.toContain("unknown");
      expect(doc.policyViolations.filter((v) => v.policyName === "sops-key-decrypt-only-controller"), stack).toEqual([]);
    }
  });

  it("names the alias ARN that .sops.yaml uses from config alone", () => {
    expect(appSecretsAliasArn("aws", "eu-west-1", "111111111111", "prod")).toBe("arn:aws:kms:eu-west-1:111111111111:alias/gitops-platform/prod/app-secrets");
  });
});

describe("AppSecrets in the Platform", async () => {
  const { config, secretKeys } = stackConfig("staging");
  const staging = await runProgram({ stack: "staging", config, secretKeys, program: path.join(ROOT, "index.ts") });

  it("annotates kustomize-controller's ServiceAccount with the decrypting role through the FluxInstance", () => {
    const instance = resourcesOfType(staging, "kubernetes:fluxcd.controlplane.io/v1:FluxInstance")[0];
    const patches = ((instance?.inputs.spec as { kustomize: { patches: { patch: string; target: { kind: string; name?: string } }[] } }).kustomize.patches).filter(
      (p) => p.target.kind === "ServiceAccount" && p.target.name === "kustomize-controller",
    );
    expect(patches.map((p) => p.patch)).toEqual([
      "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: kustomize-controller\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::111111111111:role/staging-flux-sops-decrypt\n",
    ]);
  });

  it("rolls kustomize-controller when its role changes: the role ARN on its pod template (IRSA credentials reach new pods only)", () => {
    const instance = resourcesOfType(staging, "kubernetes:fluxcd.controlplane.io/v1:FluxInstance")[0];
    const patches = (instance?.inputs.spec as { kustomize: { patches: { patch: string; target: { kind: string; name?: string } }[] } }).kustomize.patches.filter(
      (p) => p.target.kind === "Deployment" && p.target.name === "kustomize-controller" && p.patch.includes("irsa-role-arn"),
    );
    expect(patches.map((p) => p.patch)).toEqual([
      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: kustomize-controller\nspec:\n  template:\n    metadata:\n      annotations:\n        gitops-platform/irsa-role-arn: arn:aws:iam::111111111111:role/staging-flux-sops-decrypt\n",
    ]);
  });

  it("makes every app Kustomization decrypt with SOPS, without a secretRef", () => {
    const kustomizations = resourcesOfType(staging, "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization");
    expect(kustomizations.map((k) => [k.name, (k.inputs.spec as { decryption?: unknown }).decryption])).toEqual([
      ["staging-reconciler-app-orders-kustomization", { provider: "sops" }],
      ["staging-reconciler-app-payments-kustomization", { provider: "sops" }],
    ]);
  });

  it("lets the apps' CI roles encrypt, the deploy role administer and the preview role read; exports the key and alias", () => {
    const key = findResource(staging, "aws:kms/key:Key", "staging-app-secrets-key");
    const deps = key.propertyDependencies.policy ?? [];
    for (const role of ["staging-ci-app-orders", "staging-ci-app-payments", "staging-ci-deploy", "staging-ci-preview", "staging-app-secrets-role"]) {
      expect(deps).toContain(findResource(staging, "aws:iam/role:Role", role).urn);
    }
    expect(staging.outputs.appSecretsAlias).toBe("alias/gitops-platform/staging/app-secrets");
    expect(Object.keys(staging.outputs)).toContain("appSecretsKeyArn");
  });

  it("leaves the CI roles out of the encrypters when appSecrets.ciRolesEncrypt is false", async () => {
    const noCi = stackConfig("staging", { appSecrets: { ciRolesEncrypt: false } });
    const run = await runProgram({ stack: "staging", config: noCi.config, secretKeys: noCi.secretKeys, program: path.join(ROOT, "index.ts"), preview: false });
    const key = findResource(run, "aws:kms/key:Key", "staging-app-secrets-key");
    const policy = JSON.parse(String(key.inputs.policy)) as { Statement: { Sid: string; Principal: { AWS: string[] } }[] };
    expect(policy.Statement.find((s) => s.Sid === "EncryptByAppTeams")?.Principal.AWS).toEqual([
      "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AppDeveloper_0123456789abcdef",
    ]);
    expect(key.propertyDependencies.policy).not.toContain(findResource(run, "aws:iam/role:Role", "staging-ci-app-orders").urn);
  });

  it("protects the prod key and keeps staging's deletable", async () => {
    const prod = stackConfig("prod");
    const prodRun = await runProgram({ stack: "prod", config: prod.config, secretKeys: prod.secretKeys, program: path.join(ROOT, "index.ts") });
    const prodKey = findResource(prodRun, "aws:kms/key:Key", "prod-app-secrets-key");
    expect([prodKey.protect, prodKey.retainOnDelete]).toEqual([true, true]);
    expect(findResource(staging, "aws:kms/key:Key", "staging-app-secrets-key").protect).toBe(false);
  });

  it("declares no SOPS key, no role and no decryption when there are no apps", async () => {
    const bare = stackConfig("staging", {
      apps: [],
      github: { configRepo: { deployKey: { readWrite: false } } },
    });
    const run = await runProgram({ stack: "staging", config: bare.config, secretKeys: bare.secretKeys, program: path.join(ROOT, "index.ts") });
    expect(resourcesOfType(run, "gitops-platform:aws:AppSecrets")).toEqual([]);
    expect(Object.keys(run.outputs)).not.toContain("appSecretsAlias");
    const instance = resourcesOfType(run, "kubernetes:fluxcd.controlplane.io/v1:FluxInstance")[0];
    const targets = (instance?.inputs.spec as { kustomize: { patches: { target: { kind: string; name?: string } }[] } }).kustomize.patches.map((p) => `${p.target.kind}/${p.target.name ?? ""}`);
    expect(targets).not.toContain("ServiceAccount/kustomize-controller");
    // The multi-tenancy lockdown stays: it comes from the instance's cluster settings, not a patch.
    expect((instance?.inputs.spec as { cluster: { multitenant: boolean } }).cluster.multitenant).toBe(true);
  });
});
