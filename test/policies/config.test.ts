import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { policies } from "../../policies/rules";
import { evaluatePolicies, parsePolicyPackConfig, projectPolicyPack } from "../../tools/engine/policy";
import { policyTable, TABLE_END, TABLE_START, withTable } from "../../tools/generate/policy-table";
import { plan } from "./harness";

const root = path.resolve(__dirname, "..", "..");

/** The security table's enforcement (M / A / – per kind of stack), by the rule that implements each row. */
const TABLE: Record<string, [nonProduction: string, production: string]> = {
  "s3-public-access-block": ["mandatory", "mandatory"],
  "s3-ownership-enforced": ["mandatory", "mandatory"],
  "s3-encryption-kms": ["advisory", "mandatory"],
  "s3-tls-only": ["mandatory", "mandatory"],
  "s3-no-public-principal": ["mandatory", "mandatory"],
  "s3-versioning-lifecycle": ["advisory", "mandatory"],
  "s3-protect-retain": ["disabled", "mandatory"],
  "kms-rotation-deletion-window": ["mandatory", "mandatory"],
  "ecr-immutable-tags": ["mandatory", "mandatory"],
  "ecr-scan-on-push": ["mandatory", "mandatory"],
  "ecr-lifecycle-policy": ["mandatory", "mandatory"],
  "ecr-repository-policy": ["mandatory", "mandatory"],
  "sg-no-world-admin-ports": ["mandatory", "mandatory"],
  "sg-no-world-risky-ports": ["mandatory", "mandatory"],
  "sg-world-ingress-allowlist": ["advisory", "mandatory"],
  "sg-hygiene": ["advisory", "mandatory"],
  "iam-no-wildcards": ["mandatory", "mandatory"],
  "iam-github-oidc-trust": ["mandatory", "mandatory"],
  "iam-irsa-trust": ["mandatory", "mandatory"],
  "iam-trust-own-account": ["mandatory", "mandatory"],
  "github-deploy-key-read-only": ["mandatory", "mandatory"],
  "github-deploy-key-unique": ["mandatory", "mandatory"],
  "github-no-bypass": ["mandatory", "mandatory"],
  "github-ruleset-review": ["mandatory", "mandatory"],
  "github-actions-settings": ["mandatory", "mandatory"],
  "secret-material-plaintext": ["mandatory", "mandatory"],
  "k8s-pod-security": ["mandatory", "mandatory"],
  "k8s-resources-probes": ["advisory", "mandatory"],
  "k8s-image-digest": ["advisory", "mandatory"],
  "k8s-reconciler-namespace-restricted": ["mandatory", "mandatory"],
  "k8s-reconciler-network-policies": ["advisory", "mandatory"],
  "flux-git-secret": ["mandatory", "mandatory"],
  "flux-pinned-versions": ["advisory", "mandatory"],
  "image-automation-no-prod-push": ["mandatory", "mandatory"],
  "image-automation-staging-only": ["disabled", "mandatory"],
  "github-ruleset-promotion": ["mandatory", "mandatory"],
  "flux-commit-status-alerts": ["mandatory", "mandatory"],
  "notification-https-only": ["mandatory", "mandatory"],
  "flux-secrets-sops-only": ["mandatory", "mandatory"],
  "sops-key-decrypt-only-controller": ["mandatory", "mandatory"],
};

describe("the rules", () => {
  it("are named constants with a unique kebab-case name, a one-sentence description and an explicit level", () => {
    const names = policies.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    for (const policy of policies) {
      expect(policy.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(policy.description).toMatch(/^[A-Z][^\n]*\.$/);
      expect(policy.description).not.toMatch(/\.\s+[A-Z]/);
      expect(policy.enforcementLevel).toBe("mandatory");
      for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
        expect(schema, `${policy.name}.${key}`).toHaveProperty("default");
      }
    }
  });

  it("implement every row of the security table", () => {
    expect(policies.map((p) => p.name)).toEqual(Object.keys(TABLE));
  });

  it("are constructed into a PolicyPack only by the pack's entry", () => {
    const dir = path.join(root, "policies");
    const constructing = fs.readdirSync(dir).filter((file) => file.endsWith(".ts") && fs.readFileSync(path.join(dir, file), "utf8").includes("new PolicyPack("));
    expect(constructing).toEqual(["index.ts"]);
  });
});

describe("per-kind enforcement", () => {
  for (const [i, kind] of ["non-production", "production"].entries()) {
    it(`${kind}.json names every rule, and only rules, at the table's level`, () => {
      const config = parsePolicyPackConfig(path.join(root, "policies", "config", `${kind}.json`));
      expect([...config.keys()]).toEqual(Object.keys(TABLE));
      for (const [name, levels] of Object.entries(TABLE)) expect(`${name}: ${config.get(name)?.level}`).toBe(`${name}: ${levels[i]}`);
    });

    it(`${kind}.json satisfies every rule's config schema`, async () => {
      const pack = projectPolicyPack("any", root, kind === "production");
      expect(pack.config).toBe(path.join(root, "policies", "config", `${kind}.json`));
      await expect(evaluatePolicies(plan([]), [pack])).resolves.toEqual([]);
    });
  }

  it("follows from the stack's production flag, unless the stack has a config file of its own", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-kind-"));
    try {
      fs.mkdirSync(path.join(dir, "policies", "config"), { recursive: true });
      for (const kind of ["production", "non-production"]) fs.copyFileSync(path.join(root, "policies", "config", `${kind}.json`), path.join(dir, "policies", "config", `${kind}.json`));
      const stackFile = (stack: string, production: boolean) => fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), `config:\n  gitops-platform:production: ${production}\n`);
      stackFile("prod-us", true);
      stackFile("qa", false);
      expect(projectPolicyPack("prod-us", dir).config).toBe(path.join(dir, "policies", "config", "production.json"));
      expect(projectPolicyPack("qa", dir).config).toBe(path.join(dir, "policies", "config", "non-production.json"));
      fs.writeFileSync(path.join(dir, "policies", "config", "prod-us.json"), "{}\n");
      expect(projectPolicyPack("prod-us", dir).config).toBe(path.join(dir, "policies", "config", "prod-us.json"));
      // The stack file as given (plan --config) wins over the file beside Pulumi.yaml.
      expect(projectPolicyPack("qa", dir, true).config).toBe(path.join(dir, "policies", "config", "production.json"));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("is never weaker in production than elsewhere, and production's thresholds are the stricter ones", () => {
    const rank = { disabled: 0, advisory: 1, mandatory: 2, remediate: 2 } as const;
    const staging = parsePolicyPackConfig(path.join(root, "policies", "config", "non-production.json"));
    const prod = parsePolicyPackConfig(path.join(root, "policies", "config", "production.json"));
    for (const name of Object.keys(TABLE)) expect(rank[prod.get(name)?.level ?? "disabled"]).toBeGreaterThanOrEqual(rank[staging.get(name)?.level ?? "disabled"]);
    expect(prod.get("kms-rotation-deletion-window")?.properties).toEqual({ minimumDeletionWindowDays: 30 });
    expect(staging.get("s3-encryption-kms")?.properties).toEqual({ allowSseS3: true });
    expect(prod.get("s3-encryption-kms")?.properties).toEqual({ allowSseS3: false });
    // Prod never writes to Git, and its promotion pull request is reviewed.
    expect(prod.get("github-deploy-key-read-only")?.properties).toEqual({ allowWrite: false });
    expect(prod.get("github-ruleset-review")?.properties).toEqual({ minimumApprovingReviews: 1, protectedBranches: ["staging", "prod"] });
    // Both kinds know every environment branch and environment (the stack files', generated).
    for (const config of [staging, prod]) {
      expect(config.get("iam-github-oidc-trust")?.properties).toEqual({ protectedBranches: ["staging", "prod"], environments: ["staging", "prod", "release"] });
    }
  });
});

describe("the README's rule table", () => {
  it("lists every rule with its enforcement per config in use, each column naming the stacks that run with it", () => {
    const table = policyTable(root);
    expect(table.split("\n").filter((line) => line.startsWith("| `"))).toHaveLength(policies.length);
    expect(table).toContain("| rule | what it checks | non-production (staging) | production (prod) |");
    expect(table).toContain("| `s3-protect-retain` | Every S3 bucket is protected, retained on delete and never force-destroyed. | – | mandatory |");
  });

  it("replaces only what is between the markers", () => {
    expect(withTable(`intro\n${TABLE_START}\nold\n${TABLE_END}\noutro\n`, "new")).toBe(`intro\n${TABLE_START}\nnew\n${TABLE_END}\noutro\n`);
    expect(withTable("no markers", "new")).toBeUndefined();
  });

  it("is the generator's output in the README, between its markers", () => {
    const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
    expect(readme).toContain(TABLE_START);
    expect(readme).toContain(TABLE_END);
    expect(withTable(readme, policyTable(root))).toBe(readme);
  });
});
