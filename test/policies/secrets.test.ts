import { describe, expect, it } from "vitest";
import { fakeOpensshPrivateKey } from "../support/fake-keys";
import { secretMaterialPlaintext } from "../../policies/secrets";
import { messages, res, STACK_URN, UNKNOWN, unknownNote, violations } from "./harness";

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
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([["advisory", unknownNote("secret-material-plaintext", "data.identity")]]);
  });

  it("does not stop at unknown values that no private key flows into", async () => {
    expect(await messages(secretMaterialPlaintext, [configMap({ bucket: UNKNOWN })], { outputs: { bucketArn: UNKNOWN } })).toEqual([]);
  });

  it("notes an unknown output named like SSH key material", async () => {
    const found = await violations(secretMaterialPlaintext, [], { outputs: { deployKeyId: UNKNOWN, sshKey: UNKNOWN } });
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([["advisory", unknownNote("secret-material-plaintext", "sshKey")]]);
  });

  it("notes an unknown output named like a secret", async () => {
    const found = await violations(secretMaterialPlaintext, [], { outputs: { privateKeyPem: UNKNOWN } });
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([["advisory", unknownNote("secret-material-plaintext", "privateKeyPem")]]);
  });
});
