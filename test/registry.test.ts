import * as aws from "@pulumi/aws";
import { describe, expect, it } from "vitest";
import { PULL_ACTIONS, PUSH_ACTIONS, Registry, repositoryPolicy, type RegistryArgs } from "../components/aws/registry";
import { findResource, isUnknown, runProgram, type PlanResult } from "../tools/engine";

const REPO = "aws:ecr/repository:Repository";
const LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy";
const POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy";

const pushRoleArn = "arn:aws:iam::111111111111:role/ci-orders";
const pullRoleArn = "arn:aws:iam::111111111111:role/image-reflector";

function run(args: Partial<RegistryArgs> = {}): Promise<PlanResult> {
  return runProgram({
    stack: "test",
    config: { "aws:region": "eu-west-1" },
    program: () => {
      new Registry("orders", { repositoryName: "staging/orders", pushRoleArn, ...args });
    },
  });
}

describe("Registry", () => {
  it("uses the correct default values", async () => {
    const result = await run();
    expect(findResource(result, REPO, "orders-repository").inputs.encryptionConfigurations).toEqual([{ encryptionType: "KMS" }]);
    const rules = (JSON.parse(findResource(result, LIFECYCLE, "orders-lifecycle").inputs.policy as string) as { rules: { selection: { countNumber: number } }[] }).rules;
    expect(rules.map((rule) => rule.selection.countNumber)).toEqual([7, 30]);
    const statements = (JSON.parse(findResource(result, POLICY, "orders-policy").inputs.policy as string) as { Statement: { Sid: string }[] }).Statement;
    expect(statements.map((statement) => statement.Sid)).toEqual(["PushByCi"]);
  });

  it("declares an immutable, scanned, KMS-encrypted repository with the given name", async () => {
    const repo = findResource(await run({ kmsKeyArn: "arn:aws:kms:eu-west-1:111111111111:key/k" }), REPO, "orders-repository");
    expect(repo.inputs).toEqual({
      name: "staging/orders",
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfigurations: [{ encryptionType: "KMS", kmsKey: "arn:aws:kms:eu-west-1:111111111111:key/k" }],
    });
    expect(repo.inputs).not.toHaveProperty("forceDelete");
  });

  it("expires untagged images after N days and keeps the last N tagged ones", async () => {
    const result = await run({ untaggedExpiryDays: 3, keepLastImages: 20 });
    const lifecycle = findResource(result, LIFECYCLE, "orders-lifecycle");
    expect(lifecycle.inputs.repository).toBe("staging/orders");
    expect(JSON.parse(lifecycle.inputs.policy as string)).toEqual({
      rules: [
        {
          rulePriority: 1,
          description: "Expire untagged images after 3 days",
          selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 3 },
          action: { type: "expire" },
        },
        {
          rulePriority: 2,
          description: "Keep the last 20 tagged images",
          selection: { tagStatus: "tagged", tagPatternList: ["*"], countType: "imageCountMoreThan", countNumber: 20 },
          action: { type: "expire" },
        },
      ],
    });
  });

  it("lets only the CI role push and only the reconciler's role pull", async () => {
    const policy = findResource(await run({ pullRoleArn }), POLICY, "orders-policy");
    expect(policy.inputs.repository).toBe("staging/orders");
    expect(JSON.parse(policy.inputs.policy as string)).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Sid: "PushByCi", Effect: "Allow", Principal: { AWS: pushRoleArn }, Action: PUSH_ACTIONS },
        { Sid: "PullByReconciler", Effect: "Allow", Principal: { AWS: pullRoleArn }, Action: PULL_ACTIONS },
      ],
    });
  });

  it("has no pull statement until there is a reconciler role", async () => {
    const policy = findResource(await run(), POLICY, "orders-policy");
    expect(JSON.parse(policy.inputs.policy as string)).toEqual({
      Version: "2012-10-17",
      Statement: [{ Sid: "PushByCi", Effect: "Allow", Principal: { AWS: pushRoleArn }, Action: PUSH_ACTIONS }],
    });
  });

  it("waits for the CI role: the policy is unknown in preview while the role is new", async () => {
    const result = await runProgram({
      stack: "test",
      config: { "aws:region": "eu-west-1" },
      program: () => {
        const role = new aws.iam.Role("ci", { assumeRolePolicy: "{}" });
        new Registry("orders", { repositoryName: "staging/orders", pushRoleArn: role.arn });
      },
    });
    const policy = findResource(result, POLICY, "orders-policy");
    expect(isUnknown(policy.inputs.policy)).toBe(true);
    expect(policy.propertyDependencies.policy).toEqual([findResource(result, "aws:iam/role:Role", "ci").urn]);
  });

  it("never grants to a * principal and only push and read actions", () => {
    const document = repositoryPolicy(pushRoleArn, pullRoleArn);
    expect(document).not.toContain('"*"');
    expect(PUSH_ACTIONS).toEqual([
      "ecr:BatchCheckLayerAvailability",
      "ecr:InitiateLayerUpload",
      "ecr:UploadLayerPart",
      "ecr:CompleteLayerUpload",
      "ecr:PutImage",
      "ecr:BatchGetImage",
    ]);
    expect(PULL_ACTIONS).toEqual(["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages", "ecr:ListImages"]);
  });
});
