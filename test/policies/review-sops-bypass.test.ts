/**
 * Review: ways plaintext Secrets and wider SOPS decryption get past the policy pack. Each test
 * states what kustomize / Flux / KMS would really do and fails while the rule misses it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { appSecretsKeyPolicy } from "../../components/app-secrets";
import { irsaTrustPolicy } from "../../components/image-reflector-role";
import { fluxSecretsSopsOnly, manifestSecretProblems, sopsKeyDecryptOnlyController } from "../../policies/sops";
import { messages, res } from "./harness";

function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "review-sops-"));
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  return root;
}

const plainSecret = (name: string, indent = "") =>
  [`apiVersion: v1`, `kind: Secret`, `metadata:`, `  name: ${name}`, `stringData:`, `  password: hunter2`].map((line) => indent + line).join("\n") + "\n";

/** `sops --encrypt` output for a YAML file without data/stringData keys under the generated rule `encrypted_regex: ^(data|stringData)$` (measured with sops 3.11.0): nothing is encrypted. */
const SOPS_YAML_NOTHING_ENCRYPTED = `db:
    password: hunter2
apiKey: s3cr3t
sops:
    age:
        - recipient: age18v9wagutu0y9wp3qhkdrhwaw8hmd6aadm45rfqsdfezprqfrjats4hdzkr
          enc: |
            -----BEGIN AGE ENCRYPTED FILE-----
            YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBlbGlkZWQK
            -----END AGE ENCRYPTED FILE-----
    lastmodified: "2026-12-01T22:41:58Z"
    mac: ENC[AES256_GCM,data:cqwCmgKJ,iv:7OF0ysXsH9ly6v63EbwDZ6dAEzm9GORMJSF9Vp6b/yM=,tag:Lyef4fJoxXSqn+c+BFG22A==,type:str]
    encrypted_regex: ^(data|stringData)$
    version: 3.11.0
`;

describe("review: plaintext Secrets kustomize builds that the manifest scan does not see", () => {
  it("a kind: SecretList (kustomize expands every *List kind, not only List)", () => {
    const list = "apiVersion: v1\nkind: SecretList\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: db\n  stringData:\n    password: hunter2\n";
    const root = tree({ "clusters/staging/secrets.yaml": list });
    expect(manifestSecretProblems(root, ["clusters"])).toEqual([expect.stringContaining("clusters/staging/secrets.yaml")]);
  });

  it("a resource file whose name does not end in .yaml/.yml/.json, listed in kustomization.yaml", () => {
    const root = tree({ "clusters/staging/kustomization.yaml": "resources:\n- creds.txt\n", "clusters/staging/creds.txt": plainSecret("txt") });
    expect(manifestSecretProblems(root, ["clusters"])).toEqual([expect.stringContaining("creds.txt")]);
  });

  it("a resource in a hidden directory, listed in kustomization.yaml", () => {
    const root = tree({ "clusters/staging/kustomization.yaml": "resources:\n- .secrets/db.yaml\n", "clusters/staging/.secrets/db.yaml": plainSecret("hidden") });
    expect(manifestSecretProblems(root, ["clusters"])).toEqual([expect.stringContaining(".secrets/db.yaml")]);
  });

  it("an inline patch in a kustomization.yaml that writes Secret stringData", () => {
    const kustomization = `resources:\n- db.yaml\npatches:\n- patch: |-\n${plainSecret("db", "    ")}`;
    const root = tree({ "clusters/staging/kustomization.yaml": kustomization, "clusters/staging/db.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n" });
    expect(manifestSecretProblems(root, ["clusters"])).toEqual([expect.stringContaining("kustomization.yaml")]);
  });

  it("a Flux Kustomization manifest under clusters/ whose spec.patches writes Secret data (the rule checks this only for program resources)", () => {
    const flux = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: orders
  namespace: flux-system
spec:
  path: ./deploy
  sourceRef: { kind: GitRepository, name: orders }
  patches:
    - target: { kind: Secret, name: db }
      patch: |
${plainSecret("db", "        ")}`;
    const root = tree({ "clusters/staging/orders.yaml": flux });
    expect(manifestSecretProblems(root, ["clusters"])).toEqual([expect.stringContaining("clusters/staging/orders.yaml")]);
  });

  it("a YAML secretGenerator source 'encrypted' under the generated .sops.yaml rule keeps its values in plaintext, and passes", () => {
    const root = tree({
      "clusters/staging/kustomization.yaml": "secretGenerator:\n- name: app\n  files:\n  - app-secrets.yaml\n",
      "clusters/staging/app-secrets.yaml": SOPS_YAML_NOTHING_ENCRYPTED,
    });
    expect(manifestSecretProblems(root, ["clusters"])).toEqual([expect.stringContaining("app-secrets.yaml")]);
  });

  it("a plaintext .env secretGenerator source with a marker line passes", () => {
    const root = tree({
      "clusters/staging/kustomization.yaml": "secretGenerator:\n- name: app\n  envs:\n  - app.env\n",
      "clusters/staging/app.env": "DB_PASSWORD=hunter2\nsops_mac=ENC[x]\n",
    });
    expect(manifestSecretProblems(root, ["clusters"])).toEqual([expect.stringContaining("app.env")]);
  });
});

describe("review: plaintext Secret data the program declares that flux-secrets-sops-only does not see", () => {
  const emptyRoot = { manifestRoot: tree({}) };

  it("a kubernetes:core/v1:SecretPatch with plaintext stringData", async () => {
    const patch = res("kubernetes:core/v1:SecretPatch", "db", { metadata: { name: "db", namespace: "orders" }, stringData: { password: "hunter2" } });
    expect(await messages(fluxSecretsSopsOnly, [patch], { config: emptyRoot })).toHaveLength(1);
  });

  it("a JSON 6902 patch of a Flux Kustomization aimed at a Secret by name only (no target.kind)", async () => {
    const kustomization = res("kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "orders", {
      metadata: { name: "orders", namespace: "flux-system" },
      spec: { patches: [{ patch: "- op: add\n  path: /data/password\n  value: aHVudGVyMg==\n", target: { name: "db" } }] },
    });
    expect(await messages(fluxSecretsSopsOnly, [kustomization], { config: emptyRoot })).toEqual([
      'patches[0] of Kustomization "orders" writes Secret data in plaintext; put the Secret SOPS-encrypted in the applied path instead',
    ]);
  });
});

const ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789";
const CONTROLLER = "arn:aws:iam::111111111111:role/staging-flux-sops-decrypt";
const CI = "arn:aws:iam::111111111111:role/ci-orders";
const DEPLOY = "arn:aws:iam::111111111111:role/deploy";
const controllerRole = res("aws:iam/role:Role", "kc", {
  name: "staging-flux-sops-decrypt",
  assumeRolePolicy: irsaTrustPolicy(ISSUER, "111111111111", "aws", "flux-system", "kustomize-controller"),
});
const keyWith = (decrypters: string[]) => {
  const policy = JSON.parse(appSecretsKeyPolicy({ decrypter: CONTROLLER, encrypters: [CI], administrators: [DEPLOY], readers: [] })) as { Statement: unknown[] };
  policy.Statement.push({ Sid: "Extra", Effect: "Allow", Principal: { AWS: decrypters }, Action: "kms:Decrypt", Resource: "*" });
  return res("aws:kms/key:Key", "sops", { enableKeyRotation: true, policy: JSON.stringify(policy), tags: { "gitops-platform/purpose": "sops" } });
};

describe("review: decryption wider than kustomize-controller's role that sops-key-decrypt-only-controller passes", () => {
  it("a role of the same name in another account", async () => {
    const foreign = "arn:aws:iam::999999999999:role/staging-flux-sops-decrypt";
    expect(await messages(sopsKeyDecryptOnlyController, [controllerRole, keyWith([foreign])])).toHaveLength(1);
  });

  it("a role trusted by a ServiceAccount named kustomize-controller in an app namespace", async () => {
    const tenantRole = res("aws:iam/role:Role", "tenant", {
      name: "orders-decrypt",
      assumeRolePolicy: irsaTrustPolicy(ISSUER, "111111111111", "aws", "orders", "kustomize-controller"),
    });
    expect(await messages(sopsKeyDecryptOnlyController, [controllerRole, tenantRole, keyWith(["arn:aws:iam::111111111111:role/orders-decrypt"])])).toHaveLength(1);
  });

  it("a separate KeyPolicy on the SOPS key that lets CI decrypt instead of the controller", async () => {
    const key = keyWith([]);
    const keyPolicy = res(
      "aws:kms/keyPolicy:KeyPolicy",
      "sops-policy",
      { keyId: "k", policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "CiDecrypts", Effect: "Allow", Principal: { AWS: CI }, Action: "kms:Decrypt", Resource: "*" }] }) },
      { deps: { keyId: [key] } },
    );
    expect(await messages(sopsKeyDecryptOnlyController, [controllerRole, key, keyPolicy])).not.toEqual([]);
  });
});

describe("review: the scan follows hard-coded directories, not the path Flux syncs", () => {
  it("a plaintext Secret under the FluxInstance's spec.sync.path (github.configRepo.path) outside clusters/ and examples/", async () => {
    const root = tree({ "flux/staging/db.yaml": plainSecret("db") });
    const instance = res("kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "flux", {
      metadata: { name: "flux", namespace: "flux-system" },
      spec: { sync: { kind: "GitRepository", url: "ssh://git@github.com/acme-corp/gitops-platform.git", ref: "refs/heads/staging", path: "flux/staging" } },
    });
    expect(await messages(fluxSecretsSopsOnly, [instance], { config: { manifestRoot: root } })).toHaveLength(1);
  });
});

describe("review: IAM's single-character wildcard", () => {
  it("a statement letting CI use kms:Decr?pt (IAM matches ? to one character: reference_policies_elements_action)", async () => {
    const policy = JSON.parse(appSecretsKeyPolicy({ decrypter: CONTROLLER, encrypters: [CI], administrators: [DEPLOY], readers: [] })) as { Statement: unknown[] };
    policy.Statement.push({ Sid: "CiDecrypts", Effect: "Allow", Principal: { AWS: CI }, Action: "kms:Decr?pt", Resource: "*" });
    const key = res("aws:kms/key:Key", "sops", { enableKeyRotation: true, policy: JSON.stringify(policy), tags: { "gitops-platform/purpose": "sops" } });
    expect(await messages(sopsKeyDecryptOnlyController, [controllerRole, key])).toEqual([
      `key policy statement "CiDecrypts" lets "${CI}" use kms:Decrypt; only kustomize-controller's IRSA role ("staging-flux-sops-decrypt") may decrypt the SOPS key, with kms:Decrypt alone`,
    ]);
  });
});
