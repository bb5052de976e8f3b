import { describe, expect, it } from "vitest";
import { fakeOpensshPrivateKey } from "../support/fake-keys";
import { secretMaterialPlaintext } from "../../policies/secrets";
import { SDK_SECRET_PROPERTIES } from "../../policies/sdk-secret-properties";
import { renderModule, sdkSecretProperties, secretPropertiesOfModule } from "../../tools/generate/secret-properties";
import * as fs from "node:fs";
import * as path from "node:path";
import { messages, res, STACK_URN, stackUnknownNote, UNKNOWN, violations } from "./harness";

// Obviously fake key material: only its shape matters.
const PRIVATE_KEY = fakeOpensshPrivateKey("ZmFrZSBrZXkgZm9yIHRlc3RzIG9ubHk=");
const TOKEN = `ghp_${"0123456789abcdefghijklmnopqrstuvwxyz".slice(0, 36)}`;

const tlsKey = res("tls:index/privateKey:PrivateKey", "key", { algorithm: "ED25519" });
const gitSecret = res(
  "kubernetes:core/v1:Secret",
  "git",
  { apiVersion: "v1", kind: "Secret", metadata: { name: "flux-system", namespace: "flux-system" }, stringData: { identity: PRIVATE_KEY, "identity.pub": "ssh-ed25519 AAAA" } },
  { deps: { stringData: [tlsKey] } },
);
const deployKey = res("github:index/repositoryDeployKey:RepositoryDeployKey", "deploy", { repository: "orders", key: UNKNOWN, readOnly: true }, { deps: { key: [tlsKey] } });
const configMap = (data: Record<string, unknown>, deps: Record<string, never[]> | { data: (typeof tlsKey)[] } = {}) =>
  res("kubernetes:core/v1:ConfigMap", "settings", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings" }, data }, { deps });

describe("secret-material-plaintext", () => {
  it("passes key material in a Kubernetes Secret and a public key on the deploy key", async () => {
    expect(await messages(secretMaterialPlaintext, [tlsKey, gitSecret, deployKey, configMap({ region: "eu-west-1" })], { outputs: { bucket: "data" } })).toEqual([]);
  });

  it("fails a private key in a ConfigMap", async () => {
    expect(await messages(secretMaterialPlaintext, [configMap({ identity: PRIVATE_KEY })])).toEqual([
      "data.identity contains a private key in a property that is not stored as a secret; pass key material only through secret properties such as a Kubernetes Secret's data",
    ]);
  });

  it("fails a base64-encoded private key", async () => {
    expect(await messages(secretMaterialPlaintext, [configMap({ identity: Buffer.from(PRIVATE_KEY).toString("base64") })])).toEqual([
      "data.identity contains a base64-encoded private key in a property that is not stored as a secret; pass key material only through secret properties such as a Kubernetes Secret's data",
    ]);
  });

  it("fails a GitHub token in a plain property", async () => {
    const variable = res("github:index/actionsVariable:ActionsVariable", "token", { repository: "orders", variableName: "TOKEN", value: TOKEN });
    expect(await messages(secretMaterialPlaintext, [variable])).toEqual([
      "value contains a GitHub token in a property that is not stored as a secret; pass key material only through secret properties such as a Kubernetes Secret's data",
    ]);
  });

  it("fails a private key in the stack outputs, even a secret one", async () => {
    const found = await violations(secretMaterialPlaintext, [tlsKey], { outputs: { deployKey: { private: PRIVATE_KEY } } });
    expect(found.map((v) => [v.enforcementLevel, v.resource, v.message])).toEqual([
      ["mandatory", STACK_URN, 'stack output "deployKey.private" contains a private key; never export private keys or tokens, not even as secrets'],
    ]);
  });

  it("takes more secret properties from the config", async () => {
    expect(await messages(secretMaterialPlaintext, [configMap({ identity: PRIVATE_KEY })], { config: { secretProperties: ["kubernetes:core/v1:ConfigMap#data"] } })).toEqual([]);
  });

  it("notes a value unknown during preview that is computed from a private key", async () => {
    const found = await violations(secretMaterialPlaintext, [tlsKey, configMap({ identity: UNKNOWN }, { data: [tlsKey] })]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([
      ["advisory", stackUnknownNote("secret-material-plaintext", 'kubernetes:core/v1:ConfigMap "settings": string value at .data.identity')],
    ]);
  });

  it("does not stop at unknown values that no private key flows into", async () => {
    expect(await messages(secretMaterialPlaintext, [configMap({ bucket: UNKNOWN })], { outputs: { bucketArn: UNKNOWN } })).toEqual([]);
  });

  it("notes an unknown output named like SSH key material", async () => {
    const found = await violations(secretMaterialPlaintext, [], { outputs: { deployKeyId: UNKNOWN, sshKey: UNKNOWN } });
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([
      ["advisory", stackUnknownNote("secret-material-plaintext", 'pulumi:pulumi:Stack "gitops-platform-test": string value at .sshKey')],
    ]);
  });

  it("notes an unknown output named like a secret", async () => {
    const found = await violations(secretMaterialPlaintext, [], { outputs: { privateKeyPem: UNKNOWN } });
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([
      ["advisory", stackUnknownNote("secret-material-plaintext", 'pulumi:pulumi:Stack "gitops-platform-test": string value at .privateKeyPem')],
    ]);
  });

  it("passes a generated key in an SSM SecureString parameter and a Secrets Manager secret, both kept secret by their SDK", async () => {
    const parameter = res("aws:ssm/parameter:Parameter", "deploy-key", { type: "SecureString", value: PRIVATE_KEY }, { deps: { value: [tlsKey] } });
    const version = res("aws:secretsmanager/secretVersion:SecretVersion", "deploy-key", { secretId: "x", secretString: PRIVATE_KEY }, { deps: { secretString: [tlsKey] } });
    expect(await messages(secretMaterialPlaintext, [tlsKey, parameter, version])).toEqual([]);
  });

  it("still fails a private key in a property its SDK does not keep secret", async () => {
    const parameter = res("aws:ssm/parameter:Parameter", "deploy-key", { type: "String", value: "x", description: PRIVATE_KEY });
    expect(await messages(secretMaterialPlaintext, [parameter])).toEqual([
      "description contains a private key in a property that is not stored as a secret; pass key material only through secret properties such as a Kubernetes Secret's data",
    ]);
  });

  it("at first preview notes a value computed from a private key in a property its SDK does not keep secret, and fails it once known", async () => {
    const unknownValue = res("aws:ssm/parameter:Parameter", "deploy-key", { type: "String", value: "x", description: UNKNOWN }, { deps: { description: [tlsKey] } });
    const found = await violations(secretMaterialPlaintext, [tlsKey, unknownValue]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([
      ["advisory", stackUnknownNote("secret-material-plaintext", 'aws:ssm/parameter:Parameter "deploy-key": string value at .description')],
    ]);
    const known = { ...unknownValue, inputs: { ...unknownValue.inputs, description: PRIVATE_KEY } };
    expect(await messages(secretMaterialPlaintext, [tlsKey, known])).toEqual([
      "description contains a private key in a property that is not stored as a secret; pass key material only through secret properties such as a Kubernetes Secret's data",
    ]);
  });
});

describe("the secret properties the rule relies on come from the SDKs' own secret-marking", () => {
  const root = path.resolve(__dirname, "..", "..");

  it("policies/sdk-secret-properties.ts is what `npm run secret-properties -- --write` derives from the installed SDKs", () => {
    expect(fs.readFileSync(path.join(root, "policies", "sdk-secret-properties.ts"), "utf8")).toBe(renderModule(sdkSecretProperties(root), root));
  });

  it.each([
    ["kubernetes:core/v1:Secret#data", "@pulumi/kubernetes/core/v1/secret.js"],
    ["kubernetes:core/v1:Secret#stringData", "@pulumi/kubernetes/core/v1/secret.js"],
    ["aws:ssm/parameter:Parameter#value", "@pulumi/aws/ssm/parameter.js"],
    ["aws:secretsmanager/secretVersion:SecretVersion#secretString", "@pulumi/aws/secretsmanager/secretVersion.js"],
    ["github:index/actionsSecret:ActionsSecret#plaintextValue", "@pulumi/github/actionsSecret.js"],
    ["tls:index/privateKey:PrivateKey#privateKeyOpenssh", "@pulumi/tls/privateKey.js"],
    ["pulumi:providers:github#token", "@pulumi/github/provider.js"],
  ])("%s is kept secret by %s", (entry, module) => {
    expect(secretPropertiesOfModule(fs.readFileSync(path.join(root, "node_modules", module), "utf8"))).toContain(entry);
    expect(SDK_SECRET_PROPERTIES).toContain(entry);
  });

  it("does not count a property its SDK leaves in plaintext", () => {
    const source = fs.readFileSync(path.join(root, "node_modules", "@pulumi/kubernetes/core/v1/configMap.js"), "utf8");
    expect(secretPropertiesOfModule(source)).toEqual([]);
    expect(SDK_SECRET_PROPERTIES.filter((entry) => entry.startsWith("aws:ssm/parameter:Parameter#"))).toEqual(["aws:ssm/parameter:Parameter#value", "aws:ssm/parameter:Parameter#valueWo"]);
  });
});
