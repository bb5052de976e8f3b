import { describe, expect, it } from "vitest";
import { ImageAutomation, imagePolicySpec, type ImageAutomationArgs } from "../components/image-automation";
import { findResource, runProgram, type PlanResult } from "../tools/engine";
import { fluxSchemaErrors } from "./support/reconciler";

type Json = Record<string, unknown>;
const BASE: ImageAutomationArgs = {
  namespace: "flux-system",
  app: "orders",
  repositoryUrl: "111111111111.dkr.ecr.eu-west-1.amazonaws.com/staging/orders",
  policy: { semver: ">=1.0.0" },
  interval: "5m",
  sourceName: "flux-system",
  checkoutBranch: "staging",
  pushBranch: "image-updates/staging",
  updatePath: "clusters/base",
  author: { name: "fluxcdbot", email: "fluxcdbot@users.noreply.github.com" },
};
const run = (args: Partial<ImageAutomationArgs> = {}) =>
  runProgram({
    stack: "staging",
    config: {},
    program: () => {
      new ImageAutomation("orders", { ...BASE, ...args });
    },
  });
const object = (r: PlanResult, type: string, role: string) => findResource(r, `kubernetes:image.toolkit.fluxcd.io/v1:${type}`, `orders-${role}`).inputs;

describe("ImageAutomation", async () => {
  const result = await run();

  it("pushes to the configured branch", async () => {
    const other = await run({ pushBranch: "bumps/orders" });
    expect(((object(other, "ImageUpdateAutomation", "image-update-automation").spec as Json).git as Json).push).toEqual({ branch: "bumps/orders" });
  });

  it("refuses to push to the environment branch it checks out", async () => {
    await expect(run({ pushBranch: "staging" })).rejects.toThrow(
      'gitops-platform:k8s:ImageAutomation orders: pushBranch must differ from the environment branch "staging"; bumps reach it by pull request',
    );
  });

  it("scans the ECR repository with the aws provider", () => {
    expect(object(result, "ImageRepository", "image-repository").spec).toEqual({
      image: "111111111111.dkr.ecr.eu-west-1.amazonaws.com/staging/orders",
      interval: "5m",
      provider: "aws",
    });
  });

  it("commits through the sync source, touching only this app's markers under the update path", () => {
    expect(object(result, "ImageUpdateAutomation", "image-update-automation").spec).toEqual({
      interval: "5m",
      sourceRef: { kind: "GitRepository", name: "flux-system" },
      policySelector: { matchLabels: { "gitops-platform/app": "orders" } },
      git: {
        checkout: { ref: { branch: "staging" } },
        commit: { author: { name: "fluxcdbot", email: "fluxcdbot@users.noreply.github.com" } },
        push: { branch: "image-updates/staging" },
      },
      update: { path: "./clusters/base", strategy: "Setters" },
    });
    expect(((object(result, "ImagePolicy", "image-policy").metadata as Json).labels as Json)["gitops-platform/app"]).toBe("orders");
  });

  it("turns a semver range or a build-number pattern into the ImagePolicy's selection", () => {
    expect(imagePolicySpec({ semver: "~1.2" })).toEqual({ policy: { semver: { range: "~1.2" } } });
    expect(imagePolicySpec({ pattern: "^main-[a-f0-9]+-(?P<ts>[0-9]+)", extract: "$ts", order: "asc", sort: "numerical" })).toEqual({
      filterTags: { pattern: "^main-[a-f0-9]+-(?P<ts>[0-9]+)", extract: "$ts" },
      policy: { numerical: { order: "asc" } },
    });
    expect(imagePolicySpec({ pattern: "^v(?P<v>.*)$", extract: "$v", order: "desc", sort: "alphabetical" }).policy).toEqual({ alphabetical: { order: "desc" } });
  });

  it("passes the upstream CRD schemas with either kind of policy", async () => {
    const pattern = await run({ policy: { pattern: "^main-(?P<ts>[0-9]+)$", extract: "$ts", order: "asc", sort: "numerical" } });
    for (const r of [result, pattern]) {
      expect(fluxSchemaErrors(object(r, "ImageRepository", "image-repository"))).toEqual([]);
      expect(fluxSchemaErrors(object(r, "ImagePolicy", "image-policy"))).toEqual([]);
      expect(fluxSchemaErrors(object(r, "ImageUpdateAutomation", "image-update-automation"))).toEqual([]);
    }
  });
});
