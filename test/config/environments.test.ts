// Environments as data (components/config/environments.ts) and the generator of the lists GitHub and the
// policy pack need (tools/generate/environments.ts).
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { environmentsOf, EnvironmentsError, readEnvironments, type StackDocument } from "../../components/config/environments";
import { TAG_CHANGES_CHECK } from "../../components/config/promotion-checks";
import { ciVariableNames } from "../../components/names";
import { regenerateAppCi } from "../../tools/generate/app-ci";
import { generatedFiles, generatedLists, main, regeneratePolicyConfig, regeneratePolicyConfigLists, regenerateWorkflow } from "../../tools/generate/environments";

const root = path.resolve(__dirname, "..", "..");

let accounts = 0;

/**
 * A stack document as the stack file would parse: environment, branch, its own account, production,
 * promotion; its branch requires the tag check a promoted production branch needs.
 */
function stack(name: string, extra: Record<string, unknown> = {}, branch: string = name): StackDocument {
  return {
    stack: name,
    file: `Pulumi.${name}.yaml`,
    config: {
      "gitops-platform:environment": name,
      "gitops-platform:github": { configRepo: { branch }, branchProtection: { requiredChecks: ["preview", TAG_CHANGES_CHECK] } },
      "gitops-platform:aws": { accountId: String(100_000_000_000 + ++accounts), clusterName: `platform-${name}` },
      ...extra,
    },
  };
}
const production = { "gitops-platform:production": true };
const from = (upstream: string) => ({ "gitops-platform:promotion": { from: upstream } });
const to = (...downstream: string[]) => ({ "gitops-platform:promotion": { to: downstream } });

function problemsOf(documents: StackDocument[]): readonly string[] {
  try {
    environmentsOf(documents);
  } catch (error) {
    if (error instanceof EnvironmentsError) return error.problems;
    throw error;
  }
  return [];
}

describe("the environments of the stack files", () => {
  it("are this repository's staging and prod, staging promoting to prod", () => {
    const envs = readEnvironments(root);
    expect(envs.list).toEqual([
      { stack: "staging", file: "Pulumi.staging.yaml", production: false, downstream: ["prod"], imageAutomation: true },
      { stack: "prod", file: "Pulumi.prod.yaml", production: true, upstream: "staging", downstream: [], imageAutomation: false },
    ]);
    expect(envs.promotions).toEqual([{ from: "staging", to: "prod" }]);
  });

  it("order a chain with a fan-out by promotion, whichever end declares each edge", () => {
    // dev names its downstream; prod-eu and prod-us name their upstream; nothing edits staging.
    const envs = environmentsOf([
      stack("prod-us", { ...production, ...from("staging") }),
      stack("staging"),
      stack("dev", to("staging")),
      stack("prod-eu", { ...production, ...from("staging") }),
    ]);
    expect(envs.list.map((e) => [e.stack, e.upstream ?? null, e.downstream])).toEqual([
      ["dev", null, ["staging"]],
      ["staging", "dev", ["prod-eu", "prod-us"]],
      ["prod-eu", "staging", []],
      ["prod-us", "staging", []],
    ]);
    expect(envs.promotions).toEqual([
      { from: "dev", to: "staging" },
      { from: "staging", to: "prod-eu" },
      { from: "staging", to: "prod-us" },
    ]);
  });

  it("count an edge written on both ends once", () => {
    const envs = environmentsOf([stack("staging", to("prod")), stack("prod", { ...production, ...from("staging") })]);
    expect(envs.promotions).toEqual([{ from: "staging", to: "prod" }]);
  });

  it("refuse unknown stacks, self-promotion and a malformed promotion key, naming file and key path", () => {
    expect(
      problemsOf([
        stack("staging", { "gitops-platform:promotion": { to: ["prdo", "staging"], form: "dev" } }),
        stack("prod", { ...production, ...from("stagign") }),
        stack("qa", { "gitops-platform:promotion": { to: "prod", from: 7 } }),
      ]),
    ).toEqual([
      'Pulumi.staging.yaml: gitops-platform:promotion.form: unknown key (expected from or to)',
      'Pulumi.prod.yaml: gitops-platform:promotion.from: no stack "stagign" (Pulumi.stagign.yaml); the stacks are prod, qa, staging',
      'Pulumi.qa.yaml: gitops-platform:promotion.from: expected a string, got 7',
      'Pulumi.qa.yaml: gitops-platform:promotion.to: expected an array, got "prod"',
    ]);
    expect(problemsOf([stack("staging", to("prdo", "staging")), stack("prod", production)])).toEqual([
      'Pulumi.staging.yaml: gitops-platform:promotion.to[0]: no stack "prdo" (Pulumi.prdo.yaml); the stacks are prod, staging',
      "Pulumi.staging.yaml: gitops-platform:promotion.to[1]: a stack cannot promote to itself",
    ]);
  });

  it("refuse cycles, two upstreams, and production promoting into non-production", () => {
    expect(problemsOf([stack("a", to("b")), stack("b", to("c")), stack("c", to("a"))])).toEqual([
      "promotion cycle a → b → c → a (Pulumi.a.yaml: gitops-platform:promotion.to[0]; Pulumi.b.yaml: gitops-platform:promotion.to[0]; Pulumi.c.yaml: gitops-platform:promotion.to[0]); promotion must end somewhere: remove one of these edges",
    ]);
    expect(problemsOf([stack("dev", to("prod")), stack("staging", to("prod")), stack("prod", production)])).toEqual([
      "Pulumi.staging.yaml: gitops-platform:promotion.to[0]: prod would receive promotions from both dev (Pulumi.dev.yaml: gitops-platform:promotion.to[0]) and staging; an environment has one upstream (one promotion pull request), so remove one of them",
    ]);
    expect(problemsOf([stack("prod", { ...production, ...to("qa") }), stack("qa")])).toEqual([
      "Pulumi.prod.yaml: gitops-platform:promotion.to[0]: production stack prod may not promote to non-production stack qa; promotion runs from non-production towards production (set gitops-platform:production: true on qa, or reverse the edge)",
    ]);
  });

  it("refuse a stack name the workflows would refuse: a digit first, or over 40 characters", () => {
    const long = `prod-${"x".repeat(36)}`;
    expect(problemsOf([stack("1dev", {}, "dev"), stack(long, {}, "long")]).filter((p) => p.includes("stack name"))).toEqual([
      `Pulumi.1dev.yaml: stack name "1dev": expected a lowercase letter, then lowercase letters, digits or '-', at most 40 characters (it names the environment, its branch and the workflows' stack)`,
      `Pulumi.${long}.yaml: stack name "${long}": expected a lowercase letter, then lowercase letters, digits or '-', at most 40 characters (it names the environment, its branch and the workflows' stack)`,
    ]);
    expect(problemsOf([stack(`prod-${"x".repeat(35)}`)]).filter((p) => p.includes("stack name"))).toEqual([]);
  });

  it("refuse the characters the app repositories' variable names fold ('_', uppercase), so no two environments share AWS_ROLE_ARN_<ENV>", () => {
    // components/names.ts ciVariableNames uppercases and turns '-' into '_': prod-us, prod_us and
    // Prod-us would all write AWS_ROLE_ARN_PROD_US. The stack name admits only one of them.
    const rule = "expected a lowercase letter, then lowercase letters, digits or '-', at most 40 characters (it names the environment, its branch and the workflows' stack)";
    expect(problemsOf([stack("prod-us", production), stack("prod_us", production), stack("Prod-us", production)]).filter((p) => p.includes("stack name"))).toEqual([
      `Pulumi.prod_us.yaml: stack name "prod_us": ${rule}`,
      `Pulumi.Prod-us.yaml: stack name "Prod-us": ${rule}`,
    ]);
    // Over the names it admits the folding is one to one: the variable name gives the stack back.
    for (const name of ["prod-us", "produs", "prod-u-s", "prod-us-1", "p", `prod-${"x".repeat(35)}`]) {
      expect(ciVariableNames(name).roleArn.slice("AWS_ROLE_ARN_".length).toLowerCase().replaceAll("_", "-")).toBe(name);
    }
  });

  it("refuse a shared branch, an environment that is not the stack, and a production flag that is not a boolean", () => {
    expect(
      problemsOf([
        stack("staging"),
        stack("prod-us", { "gitops-platform:environment": "prod", "gitops-platform:production": "yes" }, "staging"),
      ]),
    ).toEqual([
      'Pulumi.prod-us.yaml: gitops-platform:environment: must equal the stack name "prod-us", got "prod"',
      'Pulumi.prod-us.yaml: gitops-platform:production: expected true or false, got "yes"',
      'Pulumi.prod-us.yaml: gitops-platform:github.configRepo.branch: "staging" is also the branch of stack staging (Pulumi.staging.yaml); each environment needs its own branch',
    ]);
  });

  it("refuse image automation in two environments of one chain: both would bump the shared tags", () => {
    const automated = { "gitops-platform:apps": [{ name: "payments" }, { name: "orders", imageAutomation: { policy: { semver: ">=1.0.0" } } }] };
    expect(problemsOf([stack("dev", { ...to("staging"), ...automated }), stack("staging"), stack("prod", { ...production, ...from("staging") })])).toEqual([]);
    expect(problemsOf([stack("dev", { ...to("staging"), ...automated }), stack("staging", automated), stack("qa", { ...from("staging"), ...automated })])).toEqual([
      "Pulumi.staging.yaml: gitops-platform:apps[1].imageAutomation: dev, upstream of staging, runs image automation too; both would bump the shared image tags and every promotion dev → staging would conflict: keep it in one of them (the first that should get new images)",
      "Pulumi.qa.yaml: gitops-platform:apps[1].imageAutomation: staging, upstream of qa, runs image automation too; both would bump the shared image tags and every promotion staging → qa would conflict: keep it in one of them (the first that should get new images)",
    ]);
    // Side by side (a fan-out), not one behind the other: each bumps on its own, nothing is promoted between them.
    expect(problemsOf([stack("staging"), stack("qa-eu", { ...from("staging"), ...automated }), stack("qa-us", { ...from("staging"), ...automated })])).toEqual([]);
  });

  it("refuse two stacks declaring one config repository's GitHub Actions settings", () => {
    const ofRepo = (name: string, repo: string, actionsSettings?: boolean) =>
      stack(name, { "gitops-platform:github": { configRepo: { repo, branch: name, ...(actionsSettings === undefined ? {} : { actionsSettings }) } } });
    expect(problemsOf([ofRepo("staging", "acme-corp/gitops-platform"), ofRepo("prod", "acme-corp/gitops-platform", false)])).toEqual([]);
    expect(problemsOf([ofRepo("staging", "acme-corp/gitops-platform"), ofRepo("prod", "acme-corp/other-config")])).toEqual([]);
    expect(problemsOf([ofRepo("staging", "acme-corp/gitops-platform"), ofRepo("prod", "acme-corp/gitops-platform")])).toEqual([
      "Pulumi.prod.yaml: gitops-platform:github.configRepo.actionsSettings: stack staging (Pulumi.staging.yaml) already declares the GitHub Actions settings of acme-corp/gitops-platform, which are one per repository; set it to false here",
    ]);
  });

  it("refuse a promoted production branch that does not require the tag check, which the preview workflow runs", () => {
    const checks = (name: string, extra: Record<string, unknown>, requiredChecks?: string[]) =>
      stack(name, { ...extra, "gitops-platform:github": { configRepo: { branch: name }, ...(requiredChecks ? { branchProtection: { requiredChecks } } : {}) } });
    const expected = (got: string) =>
      `Pulumi.prod.yaml: gitops-platform:github.branchProtection.requiredChecks: production stack prod receives promotions from staging, so its branch must require the check "tag-changes" (new image tags arrive only by promotion); add it, got ${got}`;
    // Absent: the default, which is only the preview.
    expect(problemsOf([checks("staging", {}), checks("prod", { ...production, ...from("staging") })])).toEqual([expected('["preview"]')]);
    expect(problemsOf([checks("staging", {}), checks("prod", { ...production, ...from("staging") }, ["preview"])])).toEqual([expected('["preview"]')]);
    expect(problemsOf([checks("staging", {}), checks("prod", { ...production, ...from("staging") }, ["preview", "tag-changes"])])).toEqual([]);
    // Not needed where tags may change without promotion: a first environment, or a non-production downstream.
    expect(problemsOf([checks("staging", to("qa")), checks("qa", {})])).toEqual([]);
    expect(problemsOf([checks("prod", production)])).toEqual([]);
    // The workflow job that reports it carries that name.
    const preview = fs.readFileSync(path.join(root, ".github", "workflows", "preview.yml"), "utf8");
    expect(preview).toMatch(new RegExp(`^  ${TAG_CHANGES_CHECK}:\\n    name: ${TAG_CHANGES_CHECK}\\n`, "m"));
  });

  it("refuse a config repository whose GitHub Actions settings no stack declares", () => {
    const ofRepo = (name: string, repo: string, actionsSettings?: boolean) =>
      stack(name, { "gitops-platform:github": { configRepo: { repo, branch: name, ...(actionsSettings === undefined ? {} : { actionsSettings }) } } });
    expect(problemsOf([ofRepo("staging", "acme-corp/gitops-platform", false), ofRepo("prod", "acme-corp/gitops-platform", false)])).toEqual([
      "Pulumi.staging.yaml, Pulumi.prod.yaml: gitops-platform:github.configRepo.actionsSettings: no stack declares the GitHub Actions settings of acme-corp/gitops-platform (read-only workflow token, Actions never approve pull requests); exactly one stack per config repository must declare them: set it to true (the default) in one of these files",
    ]);
    // Per repository: the other repository's one stack declares its own.
    expect(problemsOf([ofRepo("staging", "acme-corp/gitops-platform", false), ofRepo("prod", "acme-corp/other-config")])).toEqual([
      "Pulumi.staging.yaml: gitops-platform:github.configRepo.actionsSettings: no stack declares the GitHub Actions settings of acme-corp/gitops-platform (read-only workflow token, Actions never approve pull requests); exactly one stack per config repository must declare them: set it to true (the default) in one of these files",
    ]);
  });

  it("refuse two creators of one account's GitHub OIDC provider, and two stacks on one cluster", () => {
    const inAccount = (name: string, ci: Record<string, unknown>, cluster = `platform-${name}`) =>
      stack(name, { ...production, "aws:region": "eu-west-1", "gitops-platform:aws": { accountId: "222222222222", clusterName: cluster }, "gitops-platform:ci": ci });
    expect(problemsOf([inAccount("prod-eu", {}), inAccount("prod-us", { createOidcProvider: false })])).toEqual([]);
    expect(problemsOf([inAccount("prod-eu", {}), inAccount("prod-us", { createOidcProvider: true }, "platform-prod-eu")])).toEqual([
      "Pulumi.prod-us.yaml: gitops-platform:ci.createOidcProvider: stack prod-eu (Pulumi.prod-eu.yaml) already creates the GitHub OIDC provider of account 222222222222, which is one per account; set it to false here to use that one",
      "Pulumi.prod-us.yaml: gitops-platform:aws.clusterName: stack prod-eu (Pulumi.prod-eu.yaml) already manages cluster platform-prod-eu in account 222222222222 (eu-west-1); each environment needs its own cluster",
    ]);
  });
});

describe("npm run environments", () => {
  const chain = environmentsOf([
    stack("dev", to("staging")),
    stack("staging"),
    stack("prod", { ...production, ...from("staging") }),
    stack("prod-us", { ...production, ...from("staging") }),
  ]);

  it("derives each list from the data", () => {
    expect(generatedLists(chain)).toEqual({ stacks: ["dev", "staging", "prod", "prod-us"], "promoted-production": ["prod", "prod-us"], "automation-environment": ["dev"] });
  });

  it("rewrites only the marked lists of a workflow, leaving every other byte", () => {
    const before = [
      "on:",
      "  push:",
      "    branches: [staging, prod] # environments: stacks",
      "    tags: [v1] # a comment",
      "jobs:",
      "  tags:",
      "    if: contains(fromJSON('[\"prod\"]'), github.base_ref) # environments: promoted-production",
      "",
    ].join("\n");
    const { text, problems } = regenerateWorkflow("w.yml", before, chain);
    expect(problems).toEqual([]);
    expect(text).toBe(
      [
        "on:",
        "  push:",
        "    branches: [dev, staging, prod, prod-us] # environments: stacks",
        "    tags: [v1] # a comment",
        "jobs:",
        "  tags:",
        "    if: contains(fromJSON('[\"prod\",\"prod-us\"]'), github.base_ref) # environments: promoted-production",
        "",
      ].join("\n"),
    );
    expect(regenerateWorkflow("w.yml", text, chain).text).toBe(text);
  });

  it("refuses an unknown list and a marked line it cannot fill", () => {
    const { problems } = regenerateWorkflow("w.yml", "a: [x] # environments: stack\nb: x # environments: stacks\nc: {x: y} # environments: stacks\n", chain);
    expect(problems).toEqual([
      'w.yml:1: unknown list "stack" (expected one of stacks, promoted-production, automation-environment)',
      'w.yml:2: a line marked "stacks" holds one environment, but 4 stacks qualify (dev, staging, prod, prod-us); the automation job runs in one GitHub environment',
      "w.yml:3: a line marked \"stacks\" must hold a flow list ([a, b]), fromJSON('[...]') or one environment name",
    ]);
  });

  it("puts the automation job in the environment that runs image automation, else the first", () => {
    const line = "    environment: staging # environments: automation-environment\n";
    const automatedDev = environmentsOf([
      stack("dev", { ...to("staging"), "gitops-platform:apps": [{ name: "orders", imageAutomation: { policy: { semver: ">=1.0.0" } } }] }),
      stack("staging"),
      stack("prod", { ...production, ...from("staging") }),
    ]);
    expect(regenerateWorkflow("a.yml", line, automatedDev)).toEqual({ text: "    environment: dev # environments: automation-environment\n", problems: [] });
    expect(regenerateWorkflow("a.yml", line, chain).text).toBe("    environment: dev # environments: automation-environment\n");
    const none = environmentsOf([stack("staging"), stack("prod", { ...production, ...from("staging") })]);
    expect(regenerateWorkflow("a.yml", line, none).text).toBe(line);
  });

  it("writes the production branches into each policy config, keeping its level", () => {
    const text = '{\n  "a": "mandatory",\n  "image-automation-no-prod-push": "advisory",\n  "b": "mandatory"\n}\n';
    expect(regeneratePolicyConfig("c.json", text, ["prod", "prod-us"])).toEqual({
      text: '{\n  "a": "mandatory",\n  "image-automation-no-prod-push": { "enforcementLevel": "advisory", "protectedBranches": ["prod", "prod-us"] },\n  "b": "mandatory"\n}\n',
      problems: [],
    });
    expect(regeneratePolicyConfig("c.json", "{}\n", ["prod"]).problems).toEqual([
      'c.json: no line "image-automation-no-prod-push": ...; add one (the generator fills in protectedBranches)',
    ]);
  });

  it("writes every environment branch and environment into the rules that judge CI trust and rulesets, keeping their other settings", () => {
    const text = [
      "{",
      '  "iam-github-oidc-trust": "mandatory",',
      '  "github-ruleset-review": { "enforcementLevel": "mandatory", "minimumApprovingReviews": 1 },',
      '  "image-automation-no-prod-push": "mandatory"',
      "}",
      "",
    ].join("\n");
    const envs = environmentsOf([stack("staging"), stack("prod", { ...production, ...from("staging") })]);
    expect(regeneratePolicyConfigLists("c.json", text, envs)).toEqual({
      text: [
        "{",
        '  "iam-github-oidc-trust": { "enforcementLevel": "mandatory", "protectedBranches": ["staging", "prod"], "environments": ["staging", "prod", "release"] },',
        '  "github-ruleset-review": { "enforcementLevel": "mandatory", "minimumApprovingReviews": 1, "protectedBranches": ["staging", "prod"] },',
        '  "image-automation-no-prod-push": { "enforcementLevel": "mandatory", "protectedBranches": ["prod"] }',
        "}",
        "",
      ].join("\n"),
      problems: [],
    });
    expect(regeneratePolicyConfigLists("c.json", "{}\n", envs).problems).toEqual([
      'c.json: no line "image-automation-no-prod-push": ...; add one (the generator fills in protectedBranches)',
      'c.json: no line "iam-github-oidc-trust": ...; add one (the generator fills in protectedBranches and environments)',
      'c.json: no line "github-ruleset-review": ...; add one (the generator fills in protectedBranches)',
    ]);
  });

  it("writes the app CI template's release matrix, one entry per environment, and nothing else of it", () => {
    const before = ["      matrix:", "        include:", "          # environments: begin release-matrix", "          - environment: old", "          # environments: end release-matrix", "    steps: []", ""].join("\n");
    const { text, problems } = regenerateAppCi(before, environmentsOf([stack("staging"), stack("prod-us", { ...production, ...from("staging") })]));
    expect(problems).toEqual([]);
    expect(text).toBe(
      [
        "      matrix:",
        "        include:",
        "          # environments: begin release-matrix",
        "          - environment: staging",
        "            roleArn: ${{ vars.AWS_ROLE_ARN_STAGING }}",
        "            repositoryUrl: ${{ vars.ECR_REPOSITORY_URL_STAGING }}",
        "            region: ${{ vars.AWS_REGION_STAGING }}",
        "          - environment: prod-us",
        "            roleArn: ${{ vars.AWS_ROLE_ARN_PROD_US }}",
        "            repositoryUrl: ${{ vars.ECR_REPOSITORY_URL_PROD_US }}",
        "            region: ${{ vars.AWS_REGION_PROD_US }}",
        "          # environments: end release-matrix",
        "    steps: []",
        "",
      ].join("\n"),
    );
    const missing = regenerateAppCi(before.replace("          # environments: end release-matrix\n", ""), chain);
    expect(missing.problems).toEqual(['templates/app-ci.yml: expected one "# environments: begin release-matrix" line, then one "# environments: end release-matrix" line']);
  });

  it("finds every generated file of this repository up to date", () => {
    const { files, problems } = generatedFiles(root);
    expect(problems).toEqual([]);
    expect(files.filter((f) => f.current !== f.expected).map((f) => f.file)).toEqual([]);
    // Every workflow that lists environments is generated, not hand-kept.
    for (const name of ["deploy.yml", "preview.yml", "drift.yml"]) {
      expect(fs.readFileSync(path.join(root, ".github", "workflows", name), "utf8")).toMatch(/# environments: stacks$/m);
    }
  });

  it("exits 1 and names each stale file in check mode, 2 on a bad argument", async () => {
    let err = "";
    let out = "";
    const io = { out: (t: string) => (out += t), err: (t: string) => (err += t) };
    await expect(main([], root, io)).resolves.toBe(0);
    expect(out).toBe("environments: 9 generated files up to date\n");
    await expect(main(["--wirte"], root, io)).resolves.toBe(2);
    expect(err).toBe("environments: unexpected arguments --wirte\nusage: npm run environments [-- --write | --promotes-to <stack> | --upstream <stack> | --image-automation]\n");
  });

  it("tells a workflow where an environment promotes to and where it receives promotions from", async () => {
    const run = async (...argv: string[]) => {
      const out = { status: 0, stdout: "", stderr: "" };
      out.status = await main(argv, root, { out: (t) => (out.stdout += t), err: (t) => (out.stderr += t) });
      return out;
    };
    expect(await run("--promotes-to", "staging")).toEqual({ status: 0, stdout: '["prod"]\n', stderr: "" });
    expect(await run("--promotes-to", "prod")).toEqual({ status: 0, stdout: "[]\n", stderr: "" });
    expect(await run("--upstream", "prod")).toEqual({ status: 0, stdout: "staging\n", stderr: "" });
    expect(await run("--upstream", "staging")).toEqual({ status: 1, stdout: "", stderr: "environments: stack staging receives no promotions (no gitops-platform:promotion edge into it)\n" });
    expect(await run("--upstream", "prdo")).toEqual({ status: 1, stdout: "", stderr: 'environments: no stack "prdo" (Pulumi.prdo.yaml); the stacks are staging, prod\n' });
    expect((await run("--upstream")).status).toBe(2);
    expect(await run("--image-automation")).toEqual({ status: 0, stdout: "staging\n", stderr: "" });
    expect((await run("--image-automation", "staging")).status).toBe(2);
  });
});
