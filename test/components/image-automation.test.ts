import { describe, expect, it } from "vitest";
import { ImageAutomation, imagePolicySpec, type ImageAutomationArgs } from "../../components/k8s/image-automation";
import { findResource, runProgram, type PlanResult } from "../../tools/engine";
import * as path from "node:path";
import { main } from "../../tools/plan/main";
import { ConfigRepo, tagFile, tagOf } from "../support/config-repo-git";
import { fluxSchemaErrors } from "../support/reconciler";
import { STACKS } from "../support/stacks";

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

  it("refuses a semver range Flux's parser would refuse", async () => {
    await expect(run({ policy: { semver: ">=1.0.0 <" } })).rejects.toThrow(
      'gitops-platform:k8s:ImageAutomation orders: policy.semver is not a semver range Flux can parse (improper constraint ">=1.0.0 <"); use one such as ">=1.0.0 <2.0.0", "~1.2", "^2" or ">=1.0.0, <2.0.0 || >=3.0.0"',
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

describe("the automation branch through its pull requests (real git)", () => {
  const PUSH = "image-updates/staging";
  const automatePayments = (text: string) => text.replace(/IMAGE_TAG: "([^"]*)"$/m, 'IMAGE_TAG: "$1" # {"$imagepolicy": "flux-system:payments:tag"}');

  /** orders bumped and merged; then payments gets its marker on staging and both policies have new tags. */
  function scenario(deleteHeadOnMerge: boolean): { repo: ConfigRepo; secondPush: boolean } {
    const repo = new ConfigRepo({ deleteHeadOnMerge });
    expect(repo.automate(PUSH, "staging", { "flux-system:orders": "1.1.0" })).toBe(true);
    repo.merge(PUSH, "staging");
    repo.change("automate-payments", "staging", { [tagFile("payments")]: automatePayments });
    repo.merge("automate-payments", "staging");
    const secondPush = repo.automate(PUSH, "staging", { "flux-system:orders": "1.1.0", "flux-system:payments": "2.0.0" });
    return { repo, secondPush };
  }

  it("relies on rulesets that forbid deleting the environment branches, which both stacks declare", async () => {
    for (const stack of STACKS) {
      let text = "";
      expect(await main(["--stack", stack, "--json"], { cwd: path.resolve(__dirname, "..", ".."), stdout: (t) => (text += t), stderr: () => undefined })).toBe(0);
      const rulesets = (JSON.parse(text) as { resources: { type: string; inputs: Json }[] }).resources.filter((r) => r.type === "github:index/repositoryRuleset:RepositoryRuleset");
      expect(rulesets.map((r) => [(r.inputs.conditions as { refName: { includes: string[] } }).refName.includes, (r.inputs.rules as Json).deletion]), stack).toEqual([[[`refs/heads/${stack}`], true]]);
    }
  }, 60_000);

  it("is gone once its pull request merged, so the next run starts from staging and sees a marker added there since", () => {
    const { repo, secondPush } = scenario(true);
    try {
      expect(secondPush).toBe(true);
      expect(tagOf(repo.read(PUSH, tagFile("payments")))).toBe("2.0.0");
      repo.merge(PUSH, "staging");
      expect(tagOf(repo.read("staging", tagFile("payments")))).toBe("2.0.0");
      expect(tagOf(repo.read("staging", tagFile("orders")))).toBe("1.1.0");
      // The environment branches survive the setting: their rulesets forbid deletion.
      expect([repo.has("staging"), repo.has("prod"), repo.has(PUSH)]).toEqual([true, true, false]);
    } finally {
      repo.remove();
    }
  });

  it("kept after its merge, it hides that marker from every later run (why the branch must be deleted on merge)", () => {
    const { repo, secondPush } = scenario(false);
    try {
      // The controller continues on the old branch, whose tree predates the payments marker.
      expect(secondPush).toBe(false);
      expect(repo.read(PUSH, tagFile("payments"))).not.toContain("$imagepolicy");
    } finally {
      repo.remove();
    }
  });

  it("while its pull request is open, later bumps accumulate on it and it still merges cleanly after staging moved on", () => {
    const repo = new ConfigRepo({ deleteHeadOnMerge: true });
    try {
      expect(repo.automate(PUSH, "staging", { "flux-system:orders": "1.1.0" })).toBe(true);
      repo.change("feature", "staging", { "clusters/staging/kustomization.yaml": (text) => `${text}# a reviewed change\n` });
      repo.merge("feature", "staging");
      expect(repo.automate(PUSH, "staging", { "flux-system:orders": "1.2.0" })).toBe(true);
      // Nothing new: no commit, no push, no new check run.
      expect(repo.automate(PUSH, "staging", { "flux-system:orders": "1.2.0" })).toBe(false);
      repo.merge(PUSH, "staging");
      expect(tagOf(repo.read("staging", tagFile("orders")))).toBe("1.2.0");
      expect(repo.read("staging", "clusters/staging/kustomization.yaml")).toContain("# a reviewed change");
    } finally {
      repo.remove();
    }
  });
});
