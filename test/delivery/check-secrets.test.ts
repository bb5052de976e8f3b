import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { manifestSecretProblems } from "../../policies/sops";
import { main as checkSecrets } from "../../tools/ci/check-secrets";
import { main as plan } from "../../tools/plan/main";
import { STACKS } from "../support/stacks";

const ROOT = path.resolve(__dirname, "..", "..");
const quiet = { stdout: () => {}, stderr: () => {} };

describe("check-secrets", () => {
  it("exits 1 and names each plaintext Secret, 0 on a clean tree", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "check-secrets-"));
    fs.mkdirSync(path.join(dir, "clusters", "staging"), { recursive: true });
    fs.writeFileSync(path.join(dir, "clusters", "staging", "db.yaml"), "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  password: aHVudGVyMg==\n");
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      expect(await checkSecrets(["clusters"], dir)).toBe(1);
      expect(stderr.mock.calls.map((call) => String(call[0]))).toEqual([
        'clusters/staging/db.yaml: Secret "db" has plaintext data and no SOPS metadata; only SOPS-encrypted Secrets belong in Git (sops --encrypt --in-place clusters/staging/db.yaml)\n',
      ]);
      fs.mkdirSync(path.join(dir, "examples"));
      expect(await checkSecrets(["examples"], dir)).toBe(0);
      expect(stdout.mock.calls.map((call) => String(call[0]))).toEqual(["check-secrets: no plaintext Secret in examples\n"]);
      stderr.mockClear();
      // No paths and no project to read them from: a usage error, not a silent pass.
      expect(await checkSecrets([], dir)).toBe(2);
      expect(stderr.mock.calls.map((call) => String(call[0]))).toEqual(["check-secrets: no Pulumi.yaml here to read the synced paths from; name the paths to check\n"]);
      stdout.mockClear();
      // In the project: every stack's synced path.
      expect(await checkSecrets([], ROOT)).toBe(0);
      expect(stdout.mock.calls.map((call) => String(call[0]))).toEqual(["check-secrets: no plaintext Secret in clusters/prod, clusters/staging\n"]);
    } finally {
      stderr.mockRestore();
      stdout.mockRestore();
    }
  });

  it("advises, without failing, marking SOPS-encrypted Secrets kustomize.toolkit.fluxcd.io/substitute: disabled", async () => {
    const fixture = path.join(ROOT, "test", "fixtures", "sops", "encrypted");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "check-secrets-"));
    const encrypted = fs.readFileSync(path.join(fixture, "db.yaml"), "utf8");
    fs.writeFileSync(path.join(dir, "db.yaml"), encrypted);
    fs.writeFileSync(path.join(dir, "marked.yaml"), encrypted.replace("    namespace: orders\n", "    namespace: orders\n    annotations:\n        kustomize.toolkit.fluxcd.io/substitute: disabled\n"));
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      expect(await checkSecrets(["."], dir)).toBe(0);
      expect(stderr.mock.calls.map((call) => String(call[0]))).toEqual([
        'advice: db.yaml: Secret "db" is not annotated kustomize.toolkit.fluxcd.io/substitute: disabled; where its Kustomization has postBuild substitution, Flux replaces ${...} in the decrypted values (annotate before encrypting: the MAC covers it)\n',
      ]);
    } finally {
      stderr.mockRestore();
      stdout.mockRestore();
    }
  });

  it("passes both stacks' plan renders: the platform's own Secrets are there, every value masked", async () => {
    for (const stack of STACKS) {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), `renders-${stack}-`));
      expect(await plan(["--stack", stack, "--out", out], { cwd: ROOT, ...quiet })).toBe(0);
      const secrets = fs.readdirSync(out).filter((file) => file.startsWith("secret-"));
      expect(secrets.length, stack).toBeGreaterThan(0);
      expect(manifestSecretProblems(out, ["."])).toEqual([]);
    }
  });
});
