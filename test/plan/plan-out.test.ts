// `plan --out`: YAML a cluster accepts. Every object of both stacks validates against its schema
// (kubernetes-models for core kinds, the upstream CRDs for Flux kinds); secrets keep their keys.
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { load } from "js-yaml";
import { main } from "../../tools/plan/main";
import { fluxSchemaErrors, modelErrors } from "../support/reconciler";
import { STACKS } from "../support/stacks";

const root = path.resolve(__dirname, "..", "..");
type Json = Record<string, unknown>;

async function render(argv: string[], onTestFinished: (fn: () => void) => void): Promise<{ dir: string; objects: Map<string, Json> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-out-"));
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
  let stderr = "";
  const code = await main([...argv, "--out", dir], { cwd: root, stdout: () => undefined, stderr: (t) => (stderr += t) });
  expect(stderr).toMatch(/^wrote \d+ Kubernetes objects to /);
  expect(code).toBe(0);
  const objects = new Map<string, Json>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")) objects.set(file, load(fs.readFileSync(path.join(dir, file), "utf8")) as Json);
  return { dir, objects };
}

const FLUX_GROUPS = /^(fluxcd\.controlplane\.io|[a-z]+\.toolkit\.fluxcd\.io)\//;

describe.each(STACKS)("plan --stack %s --out", (stack) => {
  it("writes objects that validate against their schemas, with no placeholder where a map belongs", async ({ onTestFinished }) => {
    const { objects } = await render(["--stack", stack], onTestFinished);
    expect(objects.size).toBeGreaterThan(20);
    for (const [file, object] of objects) {
      const errors = FLUX_GROUPS.test(String(object.apiVersion)) ? fluxSchemaErrors(object).join("; ") : await modelErrors(object);
      expect(errors, file).toBe("");
    }
  });

  it("keeps each Secret's key layout, every value a placeholder", async ({ onTestFinished }) => {
    const { objects } = await render(["--stack", stack], onTestFinished);
    const secrets = [...objects.values()].filter((o) => o.kind === "Secret");
    expect(secrets.length).toBeGreaterThan(2);
    for (const secret of secrets) {
      const name = (secret.metadata as Json).name as string;
      const keys = Object.keys(secret.stringData ?? {});
      expect(keys.length, name).toBeGreaterThan(0);
      expect(Object.values(secret.stringData as Json), name).toEqual(keys.map(() => "[secret]"));
      expect(secret.data, name).toBeUndefined();
    }
    const flux = secrets.find((s) => (s.metadata as Json).name === "flux-system");
    expect(flux?.stringData).toEqual({ identity: "[secret]", "identity.pub": "[secret]", known_hosts: "[secret]" });
  });
});

describe("placeholders", () => {
  it("writes base64 placeholders in base64 maps and an empty map where the keys are not known offline", async ({ onTestFinished }) => {
    const { objects } = await render(["--stack", "staging", "--entry", path.join(__dirname, "..", "fixtures", "programs", "placeholders.ts"), "--no-policy"], onTestFinished);
    expect(Object.fromEntries(objects)).toEqual({
      "configmap-apps-binary.yaml": { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "binary", namespace: "apps" }, binaryData: { blob: "W3Vua25vd25d" }, data: { plain: "text" } },
      "secret-apps-data.yaml": { apiVersion: "v1", kind: "Secret", metadata: { name: "data", namespace: "apps" }, data: { token: "W3NlY3JldF0=", known: "W3NlY3JldF0=" } },
      "secret-apps-opaque.yaml": { apiVersion: "v1", kind: "Secret", metadata: { name: "opaque", namespace: "apps" }, stringData: {} },
    });
    for (const object of objects.values()) expect(await modelErrors(object)).toBe("");
  });
});
