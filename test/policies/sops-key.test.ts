import { describe, expect, it } from "vitest";
import { appSecretsKeyPolicy } from "../../components/aws/app-secrets";
import { irsaTrustPolicy } from "../../components/aws/image-reflector-role";
import { sopsKeyDecryptOnlyController } from "../../policies/sops-rules";
import { actionCovers } from "../../policies/support";
import { messages, res, UNKNOWN, unknownNote, violations, withInputs } from "./harness";

const ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789";
const CONTROLLER = "arn:aws:iam::111111111111:role/staging-flux-sops-decrypt";
const CI = "arn:aws:iam::111111111111:role/ci-orders";
const DEPLOY = "arn:aws:iam::111111111111:role/deploy";
const controllerRole = res("aws:iam/role:Role", "kc", {
  name: "staging-flux-sops-decrypt",
  assumeRolePolicy: irsaTrustPolicy(ISSUER, "111111111111", "aws", "flux-system", "kustomize-controller"),
});
const reflectorRole = res("aws:iam/role:Role", "reflector", {
  name: "image-reflector",
  assumeRolePolicy: irsaTrustPolicy(ISSUER, "111111111111", "aws", "flux-system", "image-reflector-controller"),
});
const goodPolicy = JSON.parse(appSecretsKeyPolicy({ decrypter: CONTROLLER, encrypters: [CI], administrators: [DEPLOY], readers: [] })) as { Version: string; Statement: unknown[] };
const withStatements = (...extra: unknown[]) => JSON.stringify({ ...goodPolicy, Statement: [...goodPolicy.Statement, ...extra] });
const sopsKey = res("aws:kms/key:Key", "sops", { enableKeyRotation: true, policy: JSON.stringify(goodPolicy), tags: { "gitops-platform/purpose": "sops" } });
const allow = (principal: unknown, action: unknown, sid = "Extra") => ({ Sid: sid, Effect: "Allow", Principal: principal, Action: action, Resource: "*" });
const check = (key: typeof sopsKey, extra: (typeof sopsKey)[] = []) => messages(sopsKeyDecryptOnlyController, [controllerRole, reflectorRole, key, ...extra]);
const WHO = 'only kustomize-controller\'s IRSA role ("staging-flux-sops-decrypt") may decrypt the SOPS key, with kms:Decrypt alone';

describe("sops-key-decrypt-only-controller", () => {
  it("passes the AppSecrets key policy: the controller decrypts, CI encrypts, the deploy role administers", async () => {
    expect(await check(sopsKey)).toEqual([]);
  });

  it("refuses decryption by anyone else: another role, the account root, everyone", async () => {
    const key = withInputs(sopsKey, {
      policy: withStatements(allow({ AWS: CI }, "kms:Decrypt", "CiDecrypts"), allow({ AWS: "arn:aws:iam::111111111111:root" }, "kms:*", "Root"), allow("*", "kms:Decrypt", "Everyone")),
    });
    expect(await check(key)).toEqual([
      `key policy statement "CiDecrypts" lets "${CI}" use kms:Decrypt; ${WHO}`,
      `key policy statement "Everyone" lets every AWS principal use kms:Decrypt; ${WHO}`,
      `key policy statement "Root" lets every principal of account "arn:aws:iam::111111111111:root" use kms:Decrypt, kms:ReEncryptFrom, kms:CreateGrant; ${WHO}`,
    ]);
  });

  it("refuses grants and re-encryption even to the controller, and wildcards that include them", async () => {
    const key = withInputs(sopsKey, {
      policy: withStatements(allow({ AWS: CONTROLLER }, ["kms:Decrypt", "kms:ReEncrypt*"], "Reencrypt"), allow({ AWS: DEPLOY }, "kms:Create*", "AdminWildcard")),
    });
    expect(await check(key)).toEqual([
      `key policy statement "AdminWildcard" lets "${DEPLOY}" use kms:CreateGrant; ${WHO}`,
      `key policy statement "Reencrypt" lets "${CONTROLLER}" use kms:ReEncryptFrom; ${WHO}`,
    ]);
  });

  it("refuses NotAction and NotPrincipal in allowing statements", async () => {
    const key = withInputs(sopsKey, {
      policy: withStatements(
        { Sid: "NotAction", Effect: "Allow", Principal: { AWS: CI }, NotAction: "kms:ScheduleKeyDeletion", Resource: "*" },
        { Sid: "NotPrincipal", Effect: "Allow", NotPrincipal: { AWS: CI }, Action: "kms:Decrypt", Resource: "*" },
      ),
    });
    expect(await check(key)).toEqual([
      'key policy statement "NotAction" uses NotAction with Allow, which lets its principals decrypt; list the actions',
      'key policy statement "NotPrincipal" uses NotPrincipal with Allow; name the principals',
    ]);
  });

  it("refuses a SOPS key without a policy, or one the controller cannot decrypt with", async () => {
    expect(await check(withInputs(sopsKey, { policy: undefined }))).toEqual([
      "the SOPS key has no key policy, and AWS's default one lets every principal of the account that IAM allows decrypt; give it a policy that lets only kustomize-controller's IRSA role decrypt",
    ]);
    const noController = JSON.parse(appSecretsKeyPolicy({ decrypter: "arn:aws:iam::111111111111:role/image-reflector", encrypters: [], administrators: [DEPLOY], readers: [] })) as unknown;
    expect(await check(withInputs(sopsKey, { policy: JSON.stringify(noController) }))).toEqual([
      'key policy statement "DecryptByKustomizeController" lets "arn:aws:iam::111111111111:role/image-reflector" use kms:Decrypt; only kustomize-controller\'s IRSA role ("staging-flux-sops-decrypt") may decrypt the SOPS key, with kms:Decrypt alone',
      'the SOPS key\'s policy lets no kustomize-controller IRSA role ("staging-flux-sops-decrypt") decrypt; Flux could not read the secrets',
    ]);
  });

  it("recognises an untagged key by the controller decrypting with it, and leaves other keys to the KMS rules", async () => {
    const untagged = withInputs(sopsKey, { tags: undefined, policy: withStatements(allow({ AWS: CI }, "kms:Decrypt", "CiDecrypts")) });
    expect(await check(untagged)).toEqual([`key policy statement "CiDecrypts" lets "${CI}" use kms:Decrypt; ${WHO}`]);
    const storageKey = res("aws:kms/key:Key", "storage", { enableKeyRotation: true, policy: JSON.stringify({ Statement: [allow({ AWS: "arn:aws:iam::111111111111:root" }, "kms:*")] }) });
    expect(await check(storageKey)).toEqual([]);
  });

  it("checks a separate KeyPolicy resource too", async () => {
    const keyPolicy = res("aws:kms/keyPolicy:KeyPolicy", "sops-policy", { keyId: "k", policy: withStatements(allow({ AWS: CI }, "kms:Decrypt", "CiDecrypts")) });
    expect(await messages(sopsKeyDecryptOnlyController, [controllerRole, keyPolicy])).toEqual([`key policy statement "CiDecrypts" lets "${CI}" use kms:Decrypt; ${WHO}`]);
  });

  it("refuses a grant of decryption on the SOPS key to anyone but the controller", async () => {
    const grant = (grantee: string, operations: string[]) => res("aws:kms/grant:Grant", "grant", { keyId: "k", granteePrincipal: grantee, operations }, { deps: { keyId: [sopsKey] } });
    expect(await check(sopsKey, [grant(CONTROLLER, ["Decrypt"]), grant(CI, ["Encrypt"])])).toEqual([]);
    expect(await check(sopsKey, [grant(CI, ["Decrypt", "Encrypt"])])).toEqual([
      `grant to "${CI}" on the SOPS key allows Decrypt; only kustomize-controller's IRSA role may decrypt, through the key policy`,
    ]);
  });

  it("knows the controller's role by its full ARN: the same name in another account, or a kustomize-controller ServiceAccount in another namespace, is someone else", async () => {
    const foreign = "arn:aws:iam::999999999999:role/staging-flux-sops-decrypt";
    expect(await check(withInputs(sopsKey, { policy: withStatements(allow({ AWS: foreign }, "kms:Decrypt")) }))).toEqual([`key policy statement "Extra" lets "${foreign}" use kms:Decrypt; ${WHO}`]);
    const tenantRole = res("aws:iam/role:Role", "tenant", { name: "orders-decrypt", assumeRolePolicy: irsaTrustPolicy(ISSUER, "111111111111", "aws", "orders", "kustomize-controller") });
    const tenant = "arn:aws:iam::111111111111:role/orders-decrypt";
    expect(await check(withInputs(sopsKey, { policy: withStatements(allow({ AWS: tenant }, "kms:Decrypt")) }), [tenantRole])).toEqual([`key policy statement "Extra" lets "${tenant}" use kms:Decrypt; ${WHO}`]);
    // The Flux namespace is the FluxInstance's.
    const fluxIn = (namespace: string) => res("kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "flux", { metadata: { name: "flux", namespace } });
    expect(await check(sopsKey, [fluxIn("flux-system")])).toEqual([]);
    expect(await check(sopsKey, [fluxIn("gitops")])).toEqual([
      `key policy statement "DecryptByKustomizeController" lets "${CONTROLLER}" use kms:Decrypt; only kustomize-controller's IRSA role (none in this stack) may decrypt the SOPS key, with kms:Decrypt alone`,
      "the SOPS key's policy lets no kustomize-controller IRSA role (none in this stack) decrypt; Flux could not read the secrets",
    ]);
  });

  it("refuses kustomize-controller roles of more than one cluster (OIDC issuer)", async () => {
    const otherCluster = res("aws:iam/role:Role", "other", {
      name: "other-cluster-sops",
      assumeRolePolicy: irsaTrustPolicy("https://oidc.eks.eu-west-1.amazonaws.com/id/OTHERCLUSTER", "111111111111", "aws", "flux-system", "kustomize-controller"),
    });
    const both = withInputs(sopsKey, { policy: withStatements(allow({ AWS: "arn:aws:iam::111111111111:role/other-cluster-sops" }, "kms:Decrypt")) });
    expect(await check(both, [otherCluster])).toEqual([
      'kustomize-controller is trusted through more than one cluster\'s OIDC provider ("oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789", "oidc.eks.eu-west-1.amazonaws.com/id/OTHERCLUSTER"), by roles "staging-flux-sops-decrypt", "other-cluster-sops"; only this cluster\'s controller may decrypt the SOPS key',
    ]);
  });

  it("honours IAM's ? wildcard: kms:Decr?pt is kms:Decrypt", async () => {
    expect(await check(withInputs(sopsKey, { policy: withStatements(allow({ AWS: CI }, "kms:Decr?pt", "CiDecrypts")) }))).toEqual([`key policy statement "CiDecrypts" lets "${CI}" use kms:Decrypt; ${WHO}`]);
    expect(actionCovers("kms:Decr?pt", "kms:Decrypt")).toBe(true);
    expect(actionCovers("kms:Decr?pt", "kms:Decrpt")).toBe(false);
    expect(actionCovers("kms:Re?ncrypt*", "kms:ReEncryptFrom")).toBe(true);
    expect(actionCovers("kms:Decrypt.", "kms:Decrypts")).toBe(false);
  });

  it("judges a separate KeyPolicy on the SOPS key as the key's own policy (it replaces it), by reference or by the key's alias", async () => {
    const ciOnly = JSON.stringify({ Version: "2012-10-17", Statement: [allow({ AWS: CI }, "kms:Decrypt", "CiDecrypts")] });
    const expected = [`key policy statement "CiDecrypts" lets "${CI}" use kms:Decrypt; ${WHO}`, 'the SOPS key\'s policy lets no kustomize-controller IRSA role ("staging-flux-sops-decrypt") decrypt; Flux could not read the secrets'];
    const byReference = res("aws:kms/keyPolicy:KeyPolicy", "sops-policy", { keyId: "k", policy: ciOnly }, { deps: { keyId: [sopsKey] } });
    expect(await check(sopsKey, [byReference])).toEqual(expected);
    const byAlias = res("aws:kms/keyPolicy:KeyPolicy", "sops-policy", { keyId: "alias/gitops-platform/staging/app-secrets", policy: ciOnly });
    expect(await check(sopsKey, [byAlias])).toEqual(expected);
    const otherKey = res("aws:kms/keyPolicy:KeyPolicy", "storage-policy", { keyId: "alias/storage", policy: ciOnly });
    expect(await check(sopsKey, [otherKey])).toEqual([]);
  });

  it("refuses a grant of decryption on a key named by a literal id, which may be the SOPS key", async () => {
    const grant = res("aws:kms/grant:Grant", "grant", { keyId: "1234abcd-12ab-34cd-56ef-1234567890ab", granteePrincipal: CI, operations: ["Decrypt"] });
    expect(await check(sopsKey, [grant])).toEqual([
      `grant to "${CI}" on key "1234abcd-12ab-34cd-56ef-1234567890ab" allows Decrypt, and a key named by a literal id may be the SOPS key; reference the key resource (keyId: key.keyId) so the pack can tell`,
    ]);
    const byAlias = res("aws:kms/grant:Grant", "grant", { keyId: "alias/gitops-platform/staging/app-secrets", granteePrincipal: CI, operations: ["Decrypt"] });
    expect(await check(sopsKey, [byAlias])).toEqual([`grant to "${CI}" on the SOPS key allows Decrypt; only kustomize-controller's IRSA role may decrypt, through the key policy`]);
  });

  it("notes a SOPS key policy unknown during preview", async () => {
    const found = await violations(sopsKeyDecryptOnlyController, [controllerRole, withInputs(sopsKey, { policy: UNKNOWN })]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([["advisory", unknownNote("sops-key-decrypt-only-controller", "policy")]]);
  });
});
