// The Flux objects the reconciler declares, held to the CRDs of the Flux release both stacks pin
// (v2.7.3: test/fixtures/flux-2.7.3), with unknown fields refused as the API server's strict
// field validation refuses them; and the FluxInstance to the vendored operator CRD, likewise.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv, { type ValidateFunction } from "ajv";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { FLUX_VERSION } from "../../components/config";
import { kubernetesObjects, runReconciler, WEBHOOK } from "../support/reconciler";

type Json = Record<string, unknown>;
const root = path.resolve(__dirname, "..", "..");
const FIXTURES = path.join(root, "test", "fixtures", "flux-2.7.3");
const OPERATOR = path.join(root, "vendor", "flux-operator", "v0.58.1");

interface Crd {
  spec: { group: string; names: { kind: string }; versions: { name: string; served: boolean; schema: { openAPIV3Schema: Json } }[] };
}

/** The schema with every object that lists its properties closed to others (strict field validation). */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Json = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, closed(v)]));
  if (out.properties !== undefined && out.additionalProperties === undefined && out["x-kubernetes-preserve-unknown-fields"] !== true) {
    out.additionalProperties = false;
  }
  return out;
}

const crds = new Map<string, { file: string; crd: Crd }>();
for (const [dir, files] of [
  [FIXTURES, fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".yaml"))],
  [OPERATOR, ["fluxcd.controlplane.io_fluxinstances.yaml"]],
] as const) {
  for (const file of files) {
    const crd = load(fs.readFileSync(path.join(dir, file), "utf8")) as Crd;
    crds.set(crd.spec.names.kind, { file, crd });
  }
}

const validators = new Map<string, ValidateFunction>();
/** Strict schema errors of a Flux object (metadata is the API server's, not the CRD's, to check). */
function strictErrors(object: Json): string[] {
  const kind = String(object.kind);
  const entry = crds.get(kind);
  if (!entry) throw new Error(`no Flux 2.7.3 CRD for kind ${kind} in test/fixtures/flux-2.7.3; add the controller release's file`);
  const key = `${kind} ${String(object.apiVersion)}`;
  let validate = validators.get(key);
  if (!validate) {
    const version = entry.crd.spec.versions.find((v) => v.served && `${entry.crd.spec.group}/${v.name}` === object.apiVersion);
    if (!version) throw new Error(`${kind}: ${entry.file} serves no ${String(object.apiVersion)}`);
    const schema = closed(version.schema.openAPIV3Schema) as Json;
    // ObjectMeta is not part of a CRD's schema; the API server validates it itself.
    schema.properties = { ...(schema.properties as Json), metadata: { type: "object" } };
    validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
    validators.set(key, validate);
  }
  return validate(object) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ""}${e.params && "additionalProperty" in e.params ? ` (${String(e.params.additionalProperty)})` : ""}`);
}

const FLUX_GROUPS = /\.(toolkit\.fluxcd\.io|controlplane\.io)\//;

describe("Flux objects against Flux 2.7.3's CRDs, strictly", async () => {
  const stacks = { staging: await runReconciler("staging", { reconciler: { webhook: WEBHOOK } }, false), prod: await runReconciler("prod", {}, false) };

  it("hold the CRDs of the releases Flux 2.7.3 installs, unmodified (sha256 as recorded in the README)", () => {
    expect(FLUX_VERSION).toBe("2.7.3");
    const readme = fs.readFileSync(path.join(FIXTURES, "README.md"), "utf8");
    const rows = [...readme.matchAll(/^\| `([^`]+\.yaml)` \| (\S+) \| (v[\d.]+) \| `([0-9a-f]{40})` \| `([0-9a-f]{64})` \|$/gm)];
    expect(rows.map((r) => r[1]).sort()).toEqual(fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".yaml")).sort());
    for (const [, file, , , , sha] of rows) {
      expect(createHash("sha256").update(fs.readFileSync(path.join(FIXTURES, file ?? ""))).digest("hex"), file).toBe(sha);
    }
  });

  it.each(["staging", "prod"] as const)("%s: every Flux object validates, no field unknown to its CRD", (stack) => {
    const flux = kubernetesObjects(stacks[stack]).filter((r) => FLUX_GROUPS.test(`${String(r.inputs.apiVersion)}/`));
    expect(flux.map((r) => String(r.inputs.kind)).sort()).toEqual(
      [
        "FluxInstance",
        "GitRepository",
        "GitRepository",
        "Kustomization",
        "Kustomization",
        "Receiver",
        ...(stack === "staging" ? ["ImagePolicy", "ImageRepository", "ImageUpdateAutomation"] : []),
      ].sort(),
    );
    for (const object of flux) expect(strictErrors(object.inputs), `${String(object.inputs.kind)} ${object.name}`).toEqual([]);
  });

  it("refuses a field the CRD does not have, and a wrong type, so the check above can fail", () => {
    const kustomization = kubernetesObjects(stacks.staging).find((r) => r.inputs.kind === "Kustomization")?.inputs as Json;
    expect(strictErrors({ ...kustomization, spec: { ...(kustomization.spec as Json), tenantNamespace: "orders" } })).toEqual([
      "/spec must NOT have additional properties (tenantNamespace)",
    ]);
    const instance = kubernetesObjects(stacks.staging).find((r) => r.inputs.kind === "FluxInstance")?.inputs as Json;
    const spec = instance.spec as Json;
    expect(strictErrors({ ...instance, spec: { ...spec, cluster: { ...(spec.cluster as Json), multitenant: "yes" } } })).toEqual(["/spec/cluster/multitenant must be boolean"]);
    expect(() => strictErrors({ apiVersion: "notification.toolkit.fluxcd.io/v1beta3", kind: "Alert" })).toThrow(
      "no Flux 2.7.3 CRD for kind Alert in test/fixtures/flux-2.7.3; add the controller release's file",
    );
  });
});
