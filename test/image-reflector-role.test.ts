import { describe, expect, it } from "vitest";
import { ImageReflectorRole, irsaTrustPolicy, type ImageReflectorRoleArgs } from "../components/image-reflector-role";
import { findResource, runProgram, type PlanResult } from "../tools/engine";

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
    expect(JSON.parse(String(role(result).assumeRolePolicy))).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Federated: "arn:aws:iam::111111111111:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789" },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: {
            StringEquals: {
              "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789:sub": "system:serviceaccount:flux-system:image-reflector-controller",
              "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789:aud": "sts.amazonaws.com",
            },
          },
        },
      ],
    });
  });

  it("follows the partition, namespace and ServiceAccount it is given", async () => {
    const gov = await run({ partition: "aws-us-gov", namespace: "flux", serviceAccount: "reflector", maxSessionDuration: 7200 });
    const trust = JSON.parse(String(role(gov).assumeRolePolicy)) as { Statement: { Principal: { Federated: string }; Condition: { StringEquals: Record<string, string> } }[] };
    expect(trust.Statement[0]?.Principal.Federated).toBe("arn:aws-us-gov:iam::111111111111:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789");
    expect(trust.Statement[0]?.Condition.StringEquals["oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789:sub"]).toBe("system:serviceaccount:flux:reflector");
    expect(role(gov).maxSessionDuration).toBe(7200);
  });
});
