import { describe, expect, it } from "vitest";
import * as k8s from "@pulumi/kubernetes";
import { findResource, isUnknown, resourcesOfType, runProgram, type PlanResult, type RecordedResource } from "../tools/engine";
import { DeployKey, type DeployKeyArgs } from "../components/github/deploy-key";
import { createGithubProvider } from "../components/github/github-provider";
import { GITHUB_KNOWN_HOSTS, knownHostsFile } from "../components/github/known-hosts";
import { configRepoKey } from "./support/deploy-key-fixture";

const TLS_KEY = "tls:index/privateKey:PrivateKey";
const DEPLOY_KEY = "github:index/repositoryDeployKey:RepositoryDeployKey";
const SECRET = "kubernetes:core/v1:Secret";

type KeyOverrides = Partial<Omit<DeployKeyArgs, "githubProvider" | "k8sProvider">>;

/** The repositories of one environment, declared the way Platform declares them. */
interface Repos {
  readonly config?: KeyOverrides;
  readonly orders?: KeyOverrides;
  readonly payments?: KeyOverrides;
}

function program(repos: Repos = {}, environment = "staging") {
  return () => {
    const githubProvider = createGithubProvider("github", { owner: "acme-corp" });
    const k8sProvider = new k8s.Provider("k8s", { kubeconfig: "{}" });
    const common = { environment, namespace: "flux-system", githubProvider, k8sProvider };
    new DeployKey("config-repo", {
      ...common,
      repository: "acme-corp/gitops-platform",
      purpose: "config",
      secretName: "flux-system",
      readWrite: true,
      ...repos.config,
    });
    for (const app of ["orders", "payments"] as const) {
      new DeployKey(`app-${app}`, {
        ...common,
        repository: `acme-corp/${app}`,
        purpose: `app ${app}`,
        secretName: `${app}-deploy-key`,
        ...repos[app],
      });
    }
  };
}

const run = (repos?: Repos, preview = true) => runProgram({ stack: "staging", config: { "aws:region": "eu-west-1" }, program: program(repos), preview });

/** One DeployKey on its own, with only the required args. */
function single(args: Partial<DeployKeyArgs> = {}, preview = true) {
  return runProgram({
    stack: "staging",
    config: {},
    preview,
    program: () => {
      configRepoKey(args);
    },
  });
}

const byUrn = (result: PlanResult) => new Map(result.resources.map((r) => [r.urn, r]));

describe("DeployKey", () => {
  it("uses the correct default values", async () => {
    const result = await single();
    const key = findResource(result, TLS_KEY, "config-repo-key-gen0");
    expect(key.inputs).toEqual({ algorithm: "ED25519" });
    const deployKey = findResource(result, DEPLOY_KEY, "config-repo-deploy-key-gen0");
    expect(deployKey.inputs.readOnly).toBe(true);
    expect(deployKey.inputs.title).toBe("flux staging (config, read-only) gen 0");
    const secret = findResource(result, SECRET, "config-repo-secret");
    expect((secret.inputs.metadata as { annotations: Record<string, string> }).annotations["gitops-platform/key-generation"]).toBe("0");

    // The default known_hosts is GitHub's published keys. In an update run the engine invents no
    // key material, so only the known_hosts value of stringData is known there.
    const updated = await single({}, false);
    const stringData = findResource(updated, SECRET, "config-repo-secret").inputs.stringData as Record<string, string>;
    expect(stringData.known_hosts).toBe(knownHostsFile(GITHUB_KNOWN_HOSTS));
  });

  it("declares one key pair, one deploy key and one Secret per repository", async () => {
    const result = await run();
    expect(resourcesOfType(result, TLS_KEY).map((r) => r.name)).toEqual(["config-repo-key-gen0", "app-orders-key-gen0", "app-payments-key-gen0"]);
    expect(resourcesOfType(result, DEPLOY_KEY).map((r) => r.inputs.repository)).toEqual(["gitops-platform", "orders", "payments"]);
    expect(resourcesOfType(result, SECRET).map((r) => (r.inputs.metadata as { name: string }).name)).toEqual([
      "flux-system",
      "orders-deploy-key",
      "payments-deploy-key",
    ]);
    for (const resource of [...resourcesOfType(result, TLS_KEY), ...resourcesOfType(result, DEPLOY_KEY), ...resourcesOfType(result, SECRET)]) {
      expect(findByUrn(result, resource.parent).type).toBe("gitops-platform:github:DeployKey");
    }
  });

  it("feeds each deploy key from its own key pair: no public key is shared", async () => {
    const result = await run();
    const keyUrns = resourcesOfType(result, TLS_KEY).map((r) => r.urn);
    const sources = resourcesOfType(result, DEPLOY_KEY).map((deployKey) => {
      // Unknown in preview: the public key only exists once the key pair does.
      expect(isUnknown(deployKey.inputs.key)).toBe(true);
      expect(deployKey.propertyDependencies.key).toHaveLength(1);
      const source = deployKey.propertyDependencies.key?.[0] as string;
      // The key pair is a sibling: the same component owns both.
      expect(findByUrn(result, source).parent).toBe(deployKey.parent);
      return source;
    });
    expect(new Set(sources).size).toBe(3);
    expect([...sources].sort()).toEqual([...keyUrns].sort());
  });

  it("makes only the key that image automation needs read-write, and says so in the titles", async () => {
    const result = await run();
    expect(resourcesOfType(result, DEPLOY_KEY).map((r) => [r.inputs.readOnly, r.inputs.title])).toEqual([
      [false, "flux staging (config, read-write) gen 0"],
      [true, "flux staging (app orders, read-only) gen 0"],
      [true, "flux staging (app payments, read-only) gen 0"],
    ]);
  });

  it("names the environment in the title, so staging and prod keys on one repository are told apart", async () => {
    const prod = await runProgram({ stack: "prod", config: {}, program: program({}, "prod") });
    expect(findResource(prod, DEPLOY_KEY, "config-repo-deploy-key-gen0").inputs.title).toBe("flux prod (config, read-write) gen 0");
  });

  it("generates ECDSA keys on P-256 when configured", async () => {
    const result = await single({ algorithm: "ECDSA" });
    expect(findResource(result, TLS_KEY, "config-repo-key-gen0").inputs).toEqual({ algorithm: "ECDSA", ecdsaCurve: "P256" });
  });

  it("keeps every private value secret", async () => {
    const result = await run();
    for (const key of resourcesOfType(result, TLS_KEY)) {
      expect(key.additionalSecretOutputs).toEqual(expect.arrayContaining(["privateKeyPem", "privateKeyOpenssh", "privateKeyPemPkcs8"]));
    }
    for (const secret of resourcesOfType(result, SECRET)) {
      expect(secret.secretPaths).toContain("stringData");
      expect(secret.additionalSecretOutputs).toEqual(expect.arrayContaining(["data", "stringData"]));
      expect(secret.inputs.data).toBeUndefined();
    }
    // Nothing else carries a secret: the deploy keys hold the public half only.
    for (const deployKey of resourcesOfType(result, DEPLOY_KEY)) expect(deployKey.secretPaths).toEqual([]);
  });

  it("puts the Secret in the reconciler's namespace, as Flux reads it", async () => {
    const result = await run();
    const secret = findResource(result, SECRET, "config-repo-secret");
    expect(secret.inputs).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      type: "Opaque",
      metadata: {
        name: "flux-system",
        namespace: "flux-system",
        labels: {
          "app.kubernetes.io/managed-by": "pulumi",
          "app.kubernetes.io/part-of": "gitops-platform",
          "app.kubernetes.io/component": "deploy-key",
        },
        annotations: { "gitops-platform/repository": "acme-corp/gitops-platform", "gitops-platform/key-generation": "0" },
      },
      stringData: secret.inputs.stringData,
    });
    expect(isUnknown(secret.inputs.stringData)).toBe(true);
    expect(secret.provider).toMatch(/::pulumi:providers:kubernetes::k8s::/);
    expect(findResource(result, DEPLOY_KEY, "config-repo-deploy-key-gen0").provider).toMatch(/::pulumi:providers:github::github::/);
  });

  it("switches the Secret only after GitHub has the deploy key", async () => {
    const result = await run();
    for (const name of ["config-repo", "app-orders", "app-payments"]) {
      const secret = findResource(result, SECRET, `${name}-secret`);
      expect(secret.dependencies).toContain(findResource(result, DEPLOY_KEY, `${name}-deploy-key-gen0`).urn);
      expect(secret.propertyDependencies.stringData).toEqual([findResource(result, TLS_KEY, `${name}-key-gen0`).urn]);
    }
  });

  it("rotates by generation: replaces exactly that repository's key pair and deploy key, updates its Secret in place", async () => {
    const before = await run();
    const after = await run({ orders: { generation: 1 } });
    const beforeUrns = new Set(before.resources.map((r) => r.urn));
    const afterUrns = new Set(after.resources.map((r) => r.urn));
    const removed = [...beforeUrns].filter((urn) => !afterUrns.has(urn));
    const added = [...afterUrns].filter((urn) => !beforeUrns.has(urn));
    const prefix = "urn:pulumi:staging::gitops-platform::gitops-platform:github:DeployKey$";
    expect(removed).toEqual([`${prefix}${TLS_KEY}::app-orders-key-gen0`, `${prefix}${DEPLOY_KEY}::app-orders-deploy-key-gen0`]);
    expect(added).toEqual([`${prefix}${TLS_KEY}::app-orders-key-gen1`, `${prefix}${DEPLOY_KEY}::app-orders-deploy-key-gen1`]);

    // Everything that stays has the same inputs, except the rotated repository's Secret.
    const old = byUrn(before);
    const changed = after.resources.filter((r) => old.has(r.urn) && JSON.stringify(r.inputs) !== JSON.stringify(old.get(r.urn)?.inputs));
    expect(changed.map((r) => r.name)).toEqual(["app-orders-secret"]);
    const secret = findResource(after, SECRET, "app-orders-secret");
    expect((secret.inputs.metadata as { name: string; annotations: Record<string, string> }).name).toBe("orders-deploy-key");
    expect((secret.inputs.metadata as { annotations: Record<string, string> }).annotations["gitops-platform/key-generation"]).toBe("1");
    expect(secret.dependencies).toContain(findResource(after, DEPLOY_KEY, "app-orders-deploy-key-gen1").urn);
    expect(findResource(after, DEPLOY_KEY, "app-orders-deploy-key-gen1").inputs.title).toBe("flux staging (app orders, read-only) gen 1");

    // Create before delete: nothing asks Pulumi to delete first, and nothing is replaced on changes.
    for (const resource of after.resources) {
      expect(resource.deleteBeforeReplace).toBe(false);
      expect(resource.replaceOnChanges).toEqual([]);
    }
  });

  it("refuses bad arguments with every problem named", async () => {
    const failures: [Partial<DeployKeyArgs>, string][] = [
      [{ repository: "gitops-platform" }, 'DeployKey config-repo: repository: expected owner/name, got "gitops-platform"'],
      [{ generation: -1 }, "DeployKey config-repo: generation: expected a non-negative integer, got -1"],
      [{ generation: 1.5 }, "DeployKey config-repo: generation: expected a non-negative integer, got 1.5"],
      [{ algorithm: "RSA" as "ED25519" }, 'DeployKey config-repo: algorithm: expected ED25519 or ECDSA (RSA keys are refused), got "RSA"'],
      [{ knownHosts: [] }, "DeployKey config-repo: knownHosts: expected at least one line"],
      [
        { knownHosts: ["github.com ssh-ed25519"] },
        'DeployKey config-repo: knownHosts[0]: expected "github.com <key type> <base64 key>" (3 fields), got 2 fields',
      ],
      [{ secretName: "Flux_System" }, 'DeployKey config-repo: secretName: expected a Kubernetes object name, got "Flux_System"'],
      [
        { repository: "a/b/c", generation: -2 },
        'DeployKey config-repo: repository: expected owner/name, got "a/b/c"; generation: expected a non-negative integer, got -2',
      ],
    ];
    for (const [args, message] of failures) await expect(single(args)).rejects.toThrow(message);
  });

  it("accepts a pinned known_hosts override", async () => {
    const line = GITHUB_KNOWN_HOSTS[0] as string;
    const result = await single({ knownHosts: [line] }, false);
    expect((findResource(result, SECRET, "config-repo-secret").inputs.stringData as Record<string, string>).known_hosts).toBe(`${line}\n`);
  });
});

function findByUrn(result: PlanResult, urn: string | undefined): RecordedResource {
  const found = result.resources.find((r) => r.urn === urn);
  if (!found) throw new Error(`no resource ${urn}`);
  return found;
}
