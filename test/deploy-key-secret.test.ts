// The Secret's full layout needs key material, which the offline engine never invents: here the
// test gives the key pairs fixed, obviously fake provider outputs.
import { describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { findResource, runProgram } from "../tools/engine";
import { GITHUB_KNOWN_HOSTS } from "../components/github/known-hosts";
import { configRepoKey } from "./support/deploy-key-fixture";
import { fakeOpensshPrivateKey } from "./support/fake-keys";

// The offline provider "computes" obviously fake key pairs, so the Secret's layout can be seen whole.
const fakeKeyPairs = ({ type, name }: { type: string; name: string }) =>
  type === "tls:index/privateKey:PrivateKey"
    ? {
        privateKeyOpenssh: fakeOpensshPrivateKey(`offline ${name}`),
        publicKeyOpenssh: `ssh-ed25519 OFFLINE-${name}\n`,
        publicKeyFingerprintSha256: `SHA256:offline-${name}`,
      }
    : undefined;


function program(outputs: Record<string, unknown>) {
  return () => {
    const key = configRepoKey();
    // Every public field of the component, as a Platform could export it.
    const exported = {
      repository: key.repository,
      title: key.title,
      readOnly: key.readOnly,
      generation: key.generation,
      deployKeyId: key.deployKeyId,
      publicKey: key.publicKey,
      fingerprint: key.fingerprint,
      secretName: key.secretName,
    };
    outputs.publicKeyIsSecret = pulumi.isSecret(key.publicKey);
    return exported;
  };
}

describe("DeployKey Secret", () => {
  it("holds identity, identity.pub and known_hosts, all secret", async () => {
    const outputs: Record<string, unknown> = {};
    const result = await runProgram({ stack: "staging", config: {}, program: program(outputs), providerOutputs: fakeKeyPairs });
    const secret = findResource(result, "kubernetes:core/v1:Secret", "config-repo-secret");
    expect(secret.inputs.stringData).toEqual({
      identity: fakeOpensshPrivateKey("offline config-repo-key-gen0"),
      "identity.pub": "ssh-ed25519 OFFLINE-config-repo-key-gen0\n",
      known_hosts: `${GITHUB_KNOWN_HOSTS.join("\n")}\n`,
    });
    expect(secret.secretPaths).toContain("stringData");
    expect(findResource(result, "github:index/repositoryDeployKey:RepositoryDeployKey", "config-repo-deploy-key-gen0").inputs.key).toBe(
      "ssh-ed25519 OFFLINE-config-repo-key-gen0\n",
    );
  });

  it("exposes no private key material, and nothing secret, through the component's outputs", async () => {
    const outputs: Record<string, unknown> = {};
    const result = await runProgram({ stack: "staging", config: {}, program: program(outputs), providerOutputs: fakeKeyPairs });
    expect(JSON.stringify(result.outputs)).not.toContain("PRIVATE KEY");
    expect(result.outputSecretPaths).toEqual([]);
    expect(result.outputs).toMatchObject({
      repository: "acme-corp/gitops-platform",
      title: "flux staging (config, read-only) gen 0",
      readOnly: true,
      generation: 0,
      secretName: "flux-system",
      fingerprint: "SHA256:offline-config-repo-key-gen0",
    });
    expect(await outputs.publicKeyIsSecret).toBe(false);
  });
});
