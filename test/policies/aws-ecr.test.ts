import { describe, expect, it } from "vitest";
import { ecrImmutableTags, ecrLifecyclePolicy, ecrRepositoryPolicy, ecrScanOnPush } from "../../policies/aws-ecr";
import { messages, res, UNKNOWN, unknownNote, violations, withInputs } from "./harness";

const repository = res("aws:ecr/repository:Repository", "orders", {
  imageTagMutability: "IMMUTABLE",
  imageScanningConfiguration: { scanOnPush: true },
  encryptionConfigurations: [{ encryptionType: "KMS" }],
});

const LIFECYCLE = {
  rules: [
    { rulePriority: 1, selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 7 }, action: { type: "expire" } },
    { rulePriority: 2, selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 30 }, action: { type: "expire" } },
  ],
};
const lifecycle = res("aws:ecr/lifecyclePolicy:LifecyclePolicy", "orders-lifecycle", { repository: UNKNOWN, policy: JSON.stringify(LIFECYCLE) }, { deps: { repository: [repository] } });

const PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"];
const PUSH = ["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:BatchCheckLayerAvailability"];
const RECONCILER = "arn:aws:iam::111111111111:role/reconciler";
const CI = "arn:aws:iam::111111111111:role/ci-orders";
const policyOf = (...statements: object[]) =>
  res("aws:ecr/repositoryPolicy:RepositoryPolicy", "orders-policy", { repository: UNKNOWN, policy: JSON.stringify({ Version: "2008-10-17", Statement: statements }) });
const pull = { Sid: "Pull", Effect: "Allow", Principal: { AWS: RECONCILER }, Action: PULL };
const push = { Sid: "Push", Effect: "Allow", Principal: { AWS: CI }, Action: PUSH };

describe("ecr-immutable-tags", () => {
  it("passes immutable tags", async () => {
    expect(await messages(ecrImmutableTags, [repository])).toEqual([]);
  });

  it("fails mutable tags, the default", async () => {
    expect(await messages(ecrImmutableTags, [withInputs(repository, { imageTagMutability: undefined })])).toEqual([
      'image tags must be immutable (imageTagMutability: IMMUTABLE), got "MUTABLE"',
    ]);
  });
});

describe("ecr-scan-on-push", () => {
  it("passes scan on push", async () => {
    expect(await messages(ecrScanOnPush, [repository])).toEqual([]);
  });

  const unscanned = withInputs(repository, { imageScanningConfiguration: undefined });

  it("fails a repository that does not scan", async () => {
    expect(await messages(ecrScanOnPush, [unscanned])).toEqual([
      "repository must scan images on push (imageScanningConfiguration.scanOnPush: true, or enhanced registry scanning that covers it)",
    ]);
  });

  it("passes enhanced registry scanning that covers the repository", async () => {
    const scanning = res("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration", "scanning", {
      scanType: "ENHANCED",
      rules: [{ scanFrequency: "CONTINUOUS_SCAN", repositoryFilters: [{ filter: "orders*", filterType: "WILDCARD" }] }],
    });
    expect(await messages(ecrScanOnPush, [withInputs(unscanned, { name: "orders" }), scanning])).toEqual([]);
    expect(await messages(ecrScanOnPush, [withInputs(unscanned, { name: "payments" }), scanning])).toHaveLength(1);
  });
});

describe("ecr-lifecycle-policy", () => {
  it("passes expiry of untagged images and a keep-last-N rule", async () => {
    expect(await messages(ecrLifecyclePolicy, [repository, lifecycle])).toEqual([]);
  });

  it("fails a repository without a lifecycle policy", async () => {
    expect(await messages(ecrLifecyclePolicy, [repository])).toEqual([
      'repository "orders" has no lifecycle policy; declare an aws.ecr.LifecyclePolicy for it that expires untagged images and keeps the last N images',
    ]);
  });

  it("fails a policy that keeps untagged images", async () => {
    const policy = withInputs(lifecycle, { policy: JSON.stringify({ rules: [LIFECYCLE.rules[1]] }) });
    expect(await messages(ecrLifecyclePolicy, [repository, policy])).toEqual(['lifecycle policy of repository "orders" must expire untagged images (a rule selecting tagStatus untagged)']);
  });

  it("fails a policy without a keep-last-N rule", async () => {
    const policy = withInputs(lifecycle, { policy: JSON.stringify({ rules: [LIFECYCLE.rules[0]] }) });
    expect(await messages(ecrLifecyclePolicy, [repository, policy])).toEqual([
      'lifecycle policy of repository "orders" must keep only the last N images (a rule with countType imageCountMoreThan for tagged or any images)',
    ]);
  });
});

describe("ecr-repository-policy", () => {
  it("passes pull for the reconciler role and push for the CI role", async () => {
    expect(await messages(ecrRepositoryPolicy, [policyOf(pull, push)])).toEqual([]);
  });

  it("fails Principal *", async () => {
    expect(await messages(ecrRepositoryPolicy, [policyOf({ ...pull, Principal: "*" }, push)])).toEqual([
      `statement "Pull" grants to Principal "*"; grant pull to the reconciler role and push to the app's CI role only`,
    ]);
  });

  it("fails principals that are not IAM roles", async () => {
    expect(await messages(ecrRepositoryPolicy, [policyOf({ ...pull, Principal: { AWS: "arn:aws:iam::111111111111:root" } }, push)])).toEqual([
      'statement "Pull" grants to AWS "arn:aws:iam::111111111111:root"; grant only to IAM roles (arn:aws:iam::<account>:role/<name>)',
    ]);
  });

  it("fails ecr:*", async () => {
    expect(await messages(ecrRepositoryPolicy, [policyOf(pull, { ...push, Action: "ecr:*" })])).toEqual(['statement "Push" grants "ecr:*"; list the pull or push actions it needs']);
  });

  it("fails push granted to more than the CI role", async () => {
    expect(await messages(ecrRepositoryPolicy, [policyOf({ ...pull, Action: [...PULL, "ecr:PutImage"] }, push)])).toEqual([
      `push is granted to 2 principals (${CI}, ${RECONCILER}); only the app's CI role may push`,
    ]);
  });

  it("notes a policy unknown during preview (role ARNs are computed)", async () => {
    const found = await violations(ecrRepositoryPolicy, [withInputs(policyOf(pull, push), { policy: UNKNOWN })]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([["advisory", unknownNote("ecr-repository-policy", "policy")]]);
  });
});
