// The policy pack published as policies/ alone: copied out of the project and installed from its
// own package.json (offline, from the project's node_modules), it compiles with its own tsconfig
// under its own TypeScript, and Pulumi's policy runner from its own node_modules loads it — compiling
// it the way the runner does — and lists every rule.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { policies } from "../../policies/rules";
import { policyNamesFromOwnRunner } from "../support/crossguard-server";
import { installOffline } from "../support/offline-install";

const root = path.resolve(__dirname, "..", "..");

describe("the policy pack published on its own", () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "published-pack-"));
  const pack = path.join(scratch, "gitops-platform-policies");
  fs.cpSync(path.join(root, "policies"), pack, { recursive: true });
  const installed = installOffline(pack, path.join(root, "node_modules"));
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it("has no package from outside its dependencies", () => {
    expect(installed).not.toContain("vitest");
    expect(installed).not.toContain("@pulumi/kubernetes");
  });

  it("type-checks with its own tsconfig under its own typescript", () => {
    const tsc = path.join(pack, "node_modules", "typescript", "bin", "tsc");
    expect(fs.existsSync(tsc), "the pack declares no typescript").toBe(true);
    let output = "";
    try {
      execFileSync(process.execPath, ["--preserve-symlinks", "--preserve-symlinks-main", tsc, "-p", pack, "--preserveSymlinks"], { cwd: pack, encoding: "utf8" });
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      output = `${stdout ?? ""}${stderr ?? ""}` || String(error);
    }
    expect(output).toBe("");
  });

  it("loads in Pulumi's policy runner from its own node_modules and lists every rule", async () => {
    const names = await policyNamesFromOwnRunner(pack);
    expect(names.sort()).toEqual(policies.map((policy) => policy.name).sort());
  });
});
