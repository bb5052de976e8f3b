import { describe, expect, it } from "vitest";
import * as path from "node:path";
import { ImageReflectorRole, irsaTrustPolicy, type ImageReflectorRoleArgs } from "../../components/aws/image-reflector-role";
import { findResource, runProgram, type PlanResult } from "../../tools/engine";
import { ROOT, stackConfig } from "../support/reconciler";
import { expectedIrsaTrust } from "../support/irsa";

const ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789";
const BASE: ImageReflectorRoleArgs = { oidcIssuerUrl: ISSUER, accountId: "111111111111", namespace: "flux-system" };
const run = (args: Partial<ImageReflectorRoleArgs> = {}) =>
  runProgram({
    stack: "staging",
    config: {},
    program: () => {
      const role = new ImageReflectorRole("reflector", { ...BASE, ...args });
      return { arn: role.arn };
    },
  });
const role = (r: PlanResult) => findResource(r, "aws:iam/role:Role", "reflector-role").inputs;

describe("ImageReflectorRole", async () => {
  const result = await run();

  it("uses the correct default values: partition aws, the image-reflector-controller ServiceAccount, 1 h sessions", () => {
    expect(role(result).maxSessionDuration).toBe(3600);
    expect(JSON.parse(String(role(result).assumeRolePolicy))).toEqual(
      JSON.parse(irsaTrustPolicy(ISSUER, "111111111111", "aws", "flux-system", "image-reflector-controller")),
    );
  });

  it("trusts exactly the controller's ServiceAccount through the cluster's OIDC provider, audience pinned", () => {
    expect(JSON.parse(String(role(result).assumeRolePolicy))).toEqual(expectedIrsaTrust("flux-system", "image-reflector-controller"));
  });

  it("follows the partition, namespace and ServiceAccount it is given", async () => {
    const gov = await run({ partition: "aws-us-gov", namespace: "flux", serviceAccount: "reflector", maxSessionDuration: 7200 });
    const trust = JSON.parse(String(role(gov).assumeRolePolicy)) as { Statement: { Principal: { Federated: string }; Condition: { StringEquals: Record<string, string> } }[] };
    expect(trust.Statement[0]?.Principal.Federated).toBe("arn:aws-us-gov:iam::111111111111:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789");
    expect(trust.Statement[0]?.Condition.StringEquals["oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789:sub"]).toBe("system:serviceaccount:flux:reflector");
    expect(role(gov).maxSessionDuration).toBe(7200);
  });
});

describe("ImageReflectorRole in the Platform", async () => {
  const { config, secretKeys } = stackConfig("staging");
  const staging = await runProgram({ stack: "staging", config, secretKeys, program: path.join(ROOT, "index.ts") });

  it("trusts the looked-up cluster's issuer and is every repository's puller", () => {
    const trust = JSON.parse(String(findResource(staging, "aws:iam/role:Role", "staging-image-reflector-role").inputs.assumeRolePolicy)) as {
      Statement: { Condition: { StringEquals: Record<string, string> } }[];
    };
    expect(trust.Statement[0]?.Condition.StringEquals).toEqual({
      "oidc.eks.eu-west-1.amazonaws.com/id/OFFLINE0PLATFORM0STAGING:sub": "system:serviceaccount:flux-system:image-reflector-controller",
      "oidc.eks.eu-west-1.amazonaws.com/id/OFFLINE0PLATFORM0STAGING:aud": "sts.amazonaws.com",
    });
    const role = findResource(staging, "aws:iam/role:Role", "staging-image-reflector-role");
    for (const app of ["orders", "payments"]) {
      expect(findResource(staging, "aws:ecr/repositoryPolicy:RepositoryPolicy", `staging-registry-${app}-policy`).dependencies).toContain(role.urn);
    }
  });

  it("is not declared when no app uses image automation", async () => {
    const { config: polling } = stackConfig("staging", {
      apps: [{ name: "payments", repo: "acme-corp/payments", path: "deploy/staging" }],
      github: { configRepo: { deployKey: { readWrite: false } } },
    });
    const result = await runProgram({ stack: "staging", config: polling, secretKeys, program: path.join(ROOT, "index.ts") });
    expect(result.resources.filter((r) => r.type === "gitops-platform:aws:ImageReflectorRole")).toEqual([]);
  });
});
