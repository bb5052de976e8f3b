import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../components/config";
import { clusterKubeconfig, partitionOf, repositoryName } from "../../components/platform/cluster";
import { Platform } from "../../components/platform/platform";
import { findResource, isUnknown, loadStackConfig, resourcesOfType, runProgram, type PlanResult } from "../../tools/engine";
import { replacementOf } from "../../tools/plan/replacement";
import { STACKS } from "../support/stacks";

const root = path.resolve(__dirname, "..", "..");
const entry = path.join(root, "index.ts");

const OFFLINE_VPC = "vpc-0ff11e000000000000";

/** Runs index.ts for a stack, optionally with a change to its config. */
function plan(stack: string, change: (config: Record<string, unknown>) => void = () => undefined, preview = true): Promise<PlanResult> {
  const loaded = loadStackConfig(root, stack);
  const config = structuredClone(loaded.config);
  change(config);
  return runProgram({ stack, config, secretKeys: loaded.secretKeys, program: entry, preview });
}

describe("Platform", () => {
  it("builds an explicit AWS provider pinned to the region and account, with the config's tags", async () => {
    const result = await plan("staging");
    const provider = findResource(result, "pulumi:providers:aws", "staging-aws");
    expect(provider.inputs.region).toBe("eu-west-1");
    expect(JSON.parse(provider.inputs.allowedAccountIds as string)).toEqual(["111111111111"]);
    expect(JSON.parse(provider.inputs.defaultTags as string)).toEqual({ tags: { team: "platform", environment: "staging" } });
    expect(provider.parent).toBe(findResource(result, "gitops-platform:platform:Platform", "staging").urn);
  });

  it("declares every AWS resource through that provider", async () => {
    const result = await plan("staging");
    const provider = findResource(result, "pulumi:providers:aws", "staging-aws");
    const awsResources = result.resources.filter((r) => r.custom && r.type.startsWith("aws:"));
    expect(awsResources.length).toBeGreaterThan(20);
    for (const resource of awsResources) expect(resource.provider?.startsWith(`${provider.urn}::`)).toBe(true);
  });

  it("composes the AWS components under the Platform, one Registry per app", async () => {
    const result = await plan("staging");
    const platform = findResource(result, "gitops-platform:platform:Platform", "staging");
    const children = result.resources.filter((r) => r.parent === platform.urn).map((r) => `${r.type}::${r.name}`);
    // The Kubernetes provider registers once the cluster lookup resolves: compare as sets.
    expect(children.filter((c) => c.startsWith("gitops-platform:aws:") || c.startsWith("pulumi:providers:")).sort()).toEqual([
      "gitops-platform:aws:AppSecrets::staging-app-secrets",
      "gitops-platform:aws:CiIdentity::staging-ci",
      "gitops-platform:aws:Firewall::staging-firewall",
      "gitops-platform:aws:ImageReflectorRole::staging-image-reflector",
      "gitops-platform:aws:Registry::staging-registry-orders",
      "gitops-platform:aws:Registry::staging-registry-payments",
      "gitops-platform:aws:Storage::staging-storage",
      "pulumi:providers:aws::staging-aws",
      "pulumi:providers:github::staging-github",
      "pulumi:providers:kubernetes::staging-k8s",
    ]);
  });

  it("puts the firewall in the cluster's VPC with the configured rules", async () => {
    const result = await plan("staging");
    expect(findResource(result, "aws:ec2/securityGroup:SecurityGroup", "staging-firewall-sg").inputs.vpcId).toBe(OFFLINE_VPC);
    expect(resourcesOfType(result, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")).toHaveLength(5);
    expect(resourcesOfType(result, "aws:wafv2/webAcl:WebAcl")).toEqual([]);
  });

  it("lets the load balancer reach the receiver's pods in the cluster security group, and exempts only its path from the WAF body limit", async () => {
    for (const stack of STACKS) {
      const result = await plan(stack);
      const egress = resourcesOfType(result, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule");
      expect(egress.map((r) => [r.name, r.inputs.fromPort, r.inputs.toPort, r.inputs.referencedSecurityGroupId])).toEqual([
        [`${stack}-firewall-egress-receiver-9292`, 9292, 9292, "sg-0ff11e000000000000"],
        [`${stack}-firewall-egress-receiver-9440`, 9440, 9440, "sg-0ff11e000000000000"],
      ]);
    }
    const rules = findResource(await plan("prod"), "aws:wafv2/webAcl:WebAcl", "prod-firewall-waf").inputs.rules as { name: string; statement: unknown }[];
    expect(rules.map((r) => r.name)).toEqual(["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "rate-limit-per-ip", "body-size-outside-receiver"]);
    expect(JSON.stringify(rules[3]!.statement)).toContain('"searchString":"/hook/"');
  });

  it("names each app's repository per environment and lets its CI role push only there", async () => {
    const result = await plan("staging");
    expect(findResource(result, "aws:ecr/repository:Repository", "staging-registry-orders-repository").inputs.name).toBe("staging/orders");
    const push = JSON.parse(findResource(result, "aws:iam/rolePolicy:RolePolicy", "staging-ci-app-orders-push").inputs.policy as string) as {
      Statement: { Resource: string }[];
    };
    expect(push.Statement[1]!.Resource).toBe("arn:aws:ecr:eu-west-1:111111111111:repository/staging/orders");
    // Push by the app's CI role, pull by the image reflector's role: the policy names both.
    const registryPolicy = findResource(result, "aws:ecr/repositoryPolicy:RepositoryPolicy", "staging-registry-orders-policy");
    expect([...registryPolicy.propertyDependencies.policy!].sort()).toEqual(
      [findResource(result, "aws:iam/role:Role", "staging-ci-app-orders").urn, findResource(result, "aws:iam/role:Role", "staging-image-reflector-role").urn].sort(),
    );
  });

  it("trusts the config repository's pull requests for preview and its environment for deploy", async () => {
    const result = await plan("prod");
    const subject = (name: string) =>
      (JSON.parse(findResource(result, "aws:iam/role:Role", name).inputs.assumeRolePolicy as string) as {
        Statement: { Condition: { StringEquals: Record<string, string | string[]> } }[];
      }).Statement[0]!.Condition.StringEquals["token.actions.githubusercontent.com:sub"];
    expect(subject("prod-ci-preview")).toEqual(["repo:acme-corp/gitops-platform:pull_request", "repo:acme-corp/gitops-platform:ref:refs/heads/staging"]);
    expect(subject("prod-ci-deploy")).toBe("repo:acme-corp/gitops-platform:environment:prod");
    expect(subject("prod-ci-app-orders")).toBe("repo:acme-corp/orders:environment:release");
    expect(subject("prod-ci-drift")).toBe("repo:acme-corp/gitops-platform:ref:refs/heads/staging");
    const state = findResource(result, "aws:iam/rolePolicy:RolePolicy", "prod-ci-preview-state").inputs.policy as string;
    expect(state).toContain("arn:aws:s3:::acme-gitops-platform-state-prod");
  });

  it("lets the preview and drift roles read the SOPS key's metadata, which its key policy alone grants", async () => {
    const result = await plan("staging");
    const key = findResource(result, "aws:kms/key:Key", "staging-app-secrets-key");
    expect(key.propertyDependencies.policy).toEqual(
      expect.arrayContaining([findResource(result, "aws:iam/role:Role", "staging-ci-preview").urn, findResource(result, "aws:iam/role:Role", "staging-ci-drift").urn]),
    );
  });

  it("uses an existing OIDC provider when the config says so", async () => {
    const result = await plan("staging", (config) => {
      config["gitops-platform:ci"] = { ...(config["gitops-platform:ci"] as object), createOidcProvider: false };
    });
    expect(resourcesOfType(result, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")).toEqual([]);
  });

  it("protects production storage and adds the WAF in prod, as its stack config says", async () => {
    const result = await plan("prod");
    for (const [type, name] of [
      ["aws:s3/bucket:Bucket", "prod-storage-bucket"],
      ["aws:kms/key:Key", "prod-storage-key"],
    ]) {
      const resource = findResource(result, type!, name!);
      expect([resource.protect, resource.retainOnDelete]).toEqual([true, true]);
    }
    expect(findResource(result, "aws:kms/key:Key", "prod-storage-key").inputs.deletionWindowInDays).toBe(30);
    expect(findResource(result, "aws:wafv2/webAcl:WebAcl", "prod-firewall-waf").inputs.scope).toBe("REGIONAL");
    const staging = await plan("staging");
    expect(findResource(staging, "aws:s3/bucket:Bucket", "staging-storage-bucket").protect).toBe(false);
  });

  it("rotates the Secrets Flux reads in place, never by a delete-first replacement (no sync gap)", async () => {
    const result = await plan("staging");
    const provider = findResource(result, "pulumi:providers:kubernetes", "staging-k8s");
    // Provider config values are recorded as strings, as Pulumi serialises them.
    expect(provider.inputs.enableSecretMutable).toBe("true");
    // A key rotation changes the Git Secret's data: with the provider's switch that is an update.
    const gitSecret = findResource(result, "kubernetes:core/v1:Secret", "staging-config-repo-secret");
    expect(replacementOf(gitSecret, "stringData.identity", provider.inputs).replaces).toBe(false);
    // The check can fail: without the switch the same change replaces the Secret.
    expect(replacementOf(gitSecret, "stringData.identity", {}).replaces).toBe(true);
  });

  it("builds the Kubernetes provider from the cluster, with a secret kubeconfig that authenticates through aws eks get-token", async () => {
    const result = await plan("staging");
    const provider = findResource(result, "pulumi:providers:kubernetes", "staging-k8s");
    expect(provider.secretPaths).toEqual(["kubeconfig"]);
    expect(provider.inputs.kubeconfig).toBe(
      clusterKubeconfig(
        "platform-staging",
        "eu-west-1",
        "https://platform-staging.offline.eks.invalid",
        Buffer.from("offline certificate authority of platform-staging").toString("base64"),
      ),
    );
    const kubeconfig = JSON.parse(provider.inputs.kubeconfig as string) as { users: { user: { exec: { command: string; args: string[] } } }[] };
    expect(kubeconfig.users[0]!.user.exec).toMatchObject({
      command: "aws",
      args: ["eks", "get-token", "--cluster-name", "platform-staging", "--region", "eu-west-1", "--output", "json"],
    });
  });

  it("exports names, URLs and ARNs, unknown in preview, secret only where a token is in it", async () => {
    const result = await plan("prod");
    expect(Object.keys(result.outputs).sort()).toEqual([
      "appSecretsAlias",
      "appSecretsKeyArn",
      "bucketName",
      "ciRoleArns",
      "deployKeys",
      "deployRoleArn",
      "driftRoleArn",
      "previewRoleArn",
      "repositoryUrls",
      "securityGroupId",
      "storageKeyArn",
      "vpcId",
      "webAclArn",
      "webhookLoadBalancer",
      "webhookUrl",
    ]);
    // The receiver's URL ends in a path derived from its token.
    expect(result.outputSecretPaths).toEqual(["webhookUrl"]);
    expect(Object.keys(result.outputs.repositoryUrls as object)).toEqual(["orders", "payments"]);
    // Built from fixed role names: known at preview, so policies naming these roles can be judged.
    expect((result.outputs.ciRoleArns as Record<string, unknown>).orders).toBe("arn:aws:iam::222222222222:role/prod-ci-app-orders");
    expect(result.outputs.deployRoleArn).toBe("arn:aws:iam::222222222222:role/prod-ci-deploy");
    expect(isUnknown(result.outputs.bucketName)).toBe(true);
    expect(result.outputs.vpcId).toBe(OFFLINE_VPC);
  });

  it("leaves the web ACL out of the outputs when the WAF is off", async () => {
    const result = await plan("staging");
    expect(result.outputs).not.toHaveProperty("webAclArn");
  });

  it("runs outside preview too", async () => {
    const result = await plan("staging", undefined, false);
    expect(result.outputs.securityGroupId).toBe("staging-firewall-sg-offline-id");
  });

  it("stops before declaring anything when the config is bad", async () => {
    await expect(
      plan("staging", (config) => {
        config["gitops-platform:environment"] = "prod";
      }),
    ).rejects.toThrow('gitops-platform:environment: must equal the stack name "staging", got "prod"');
  });
});

describe("Platform helpers", () => {
  it("derives the partition from the region", () => {
    expect([partitionOf("eu-west-1"), partitionOf("cn-north-1"), partitionOf("us-gov-west-1")]).toEqual(["aws", "aws-cn", "aws-us-gov"]);
  });

  it("names repositories <environment>/<app>", () => {
    expect(repositoryName("prod", "orders")).toBe("prod/orders");
  });
});

describe("Platform: one AppWiring per app", () => {
  it("builds each app's wiring once, in config order, from the parts it declared for that app", async () => {
    let platform: Platform | undefined;
    const loaded = loadStackConfig(root, "staging");
    await runProgram({
      stack: "staging",
      config: loaded.config,
      secretKeys: loaded.secretKeys,
      program: () => {
        const config = readConfig();
        platform = new Platform(config.environment, { config });
        return {};
      },
    });
    if (platform === undefined) throw new Error("the program did not run");
    const built = platform;
    expect(built.apps.map((wiring) => wiring.app.name)).toEqual(["orders", "payments"]);
    for (const wiring of built.apps) {
      expect(wiring.registry).toBe(built.registries[wiring.app.name]);
      expect(wiring.deployKey).toBe(built.appKeys[wiring.app.name]);
      expect(wiring.ciRoleArn).toBe(built.ciRoleArns[wiring.app.name]);
      expect(wiring.repository.name).toBe(repositoryName("staging", wiring.app.name));
      expect(wiring.repository.arn).toBe(`arn:aws:ecr:eu-west-1:111111111111:repository/staging/${wiring.app.name}`);
      expect(wiring.repository.arn).toBe(built.repositoryArns[wiring.app.name]);
      expect(wiring.repository.url).toBe(wiring.registry.repositoryUrl);
      // The contract resolved the app's defaults: the wiring carries them as they are.
      expect(wiring.app.path).toBe("deploy/staging");
    }
    expect(built.apps[0]?.app.imageAutomation?.pushBranch).toBe("image-updates/staging");
  });
});
