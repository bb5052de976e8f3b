/**
 * Renderings of a plan: the resource tree for people, one JSON document for machines, and the
 * Kubernetes objects as YAML files. All of them mask secrets (`[secret]`) and unknowns (`[unknown]`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { dump } from "js-yaml";
import { maskedInputs, maskedOutputs, STACK_TYPE, type PlanResult, type RecordedResource } from "../engine";

const MAX_LINE = 140;

function short(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > MAX_LINE ? `${text.slice(0, MAX_LINE - 1)}…` : text;
}

function flags(resource: RecordedResource): string {
  const list: string[] = [];
  if (resource.protect) list.push("protect");
  if (resource.retainOnDelete) list.push("retainOnDelete");
  if (resource.deleteBeforeReplace) list.push("deleteBeforeReplace");
  if (!resource.custom) list.push("component");
  return list.length ? `  [${list.join(", ")}]` : "";
}

/** The resource tree with each resource's inputs, then the outputs and the policy verdicts. */
export function renderTree(result: PlanResult): string {
  const lines: string[] = [];
  const children = new Map<string, RecordedResource[]>();
  for (const resource of result.resources) {
    const key = resource.parent ?? "";
    children.set(key, [...(children.get(key) ?? []), resource]);
  }
  const visit = (resource: RecordedResource, prefix: string, last: boolean, root: boolean) => {
    const branch = root ? "" : last ? "└─ " : "├─ ";
    lines.push(`${prefix}${branch}${resource.type}  ${resource.name}${flags(resource)}`);
    const inner = root ? "" : `${prefix}${last ? "   " : "│  "}`;
    const kids = children.get(resource.urn) ?? [];
    const bar = kids.length ? "│" : " ";
    if (resource.type !== STACK_TYPE) {
      for (const [key, value] of Object.entries(maskedInputs(resource))) {
        if (key === "__defaults") continue;
        lines.push(`${inner}${bar}    ${key}: ${short(value)}`);
      }
    }
    kids.forEach((kid, i) => visit(kid, inner, i === kids.length - 1, false));
  };
  for (const top of children.get("") ?? []) visit(top, "", true, true);

  const custom = result.resources.filter((r) => r.custom).length;
  const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;
  const components = result.resources.length - custom;
  lines.push("", `${count(result.resources.length, "resource")} (${custom} custom, ${count(components, "component")}) · stack ${result.stack} · offline preview`);

  const outputs = Object.entries(maskedOutputs(result));
  lines.push("", "Outputs:");
  if (outputs.length === 0) lines.push("    (none)");
  for (const [key, value] of outputs) lines.push(`    ${key}: ${short(value)}`);

  lines.push("", ...renderViolations(result));
  return `${lines.join("\n")}\n`;
}

/** Policy verdicts grouped by enforcement level. */
export function renderViolations(result: PlanResult): string[] {
  if (result.policyViolations.length === 0) return ["Policies: no violations."];
  const lines: string[] = [];
  for (const level of ["mandatory", "advisory"] as const) {
    const found = result.policyViolations.filter((v) => v.enforcementLevel === level);
    if (found.length === 0) continue;
    lines.push(`Policy violations, ${level} (${found.length}):`);
    for (const v of found) {
      lines.push(`    [${v.policyPack}] ${v.policyName}${v.resource ? `  ${v.resource}` : ""}`);
      for (const messageLine of v.message.split("\n")) lines.push(`        ${messageLine}`);
    }
  }
  return lines;
}

/** The machine-readable plan. */
export function renderJson(result: PlanResult): string {
  const doc = {
    project: result.project,
    stack: result.stack,
    resources: result.resources.map((r) => ({
      urn: r.urn,
      type: r.type,
      name: r.name,
      parent: r.parent ?? null,
      custom: r.custom,
      inputs: maskedInputs(r),
      protect: r.protect,
      retainOnDelete: r.retainOnDelete,
      additionalSecretOutputs: r.additionalSecretOutputs,
      dependencies: r.dependencies,
    })),
    outputs: maskedOutputs(result),
    policyViolations: result.policyViolations,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** A Kubernetes object a resource declares (custom `kubernetes:` resources with apiVersion and kind). */
export interface RenderedObject {
  readonly file: string;
  readonly object: Record<string, unknown>;
}

const slug = (text: string) => text.toLowerCase().replace(/[^a-z0-9.-]+/g, "-");

/** The Kubernetes objects of a plan, masked, with a stable file name each. */
export function kubernetesObjects(result: PlanResult): RenderedObject[] {
  const objects: RenderedObject[] = [];
  for (const resource of result.resources) {
    if (!resource.custom || !resource.type.startsWith("kubernetes:")) continue;
    const inputs = maskedInputs(resource);
    if (typeof inputs.apiVersion !== "string" || typeof inputs.kind !== "string") continue;
    const metadata = { ...((inputs.metadata as Record<string, unknown> | undefined) ?? {}) };
    metadata.name ??= resource.name;
    const object: Record<string, unknown> = { apiVersion: inputs.apiVersion, kind: inputs.kind, metadata };
    for (const [key, value] of Object.entries(inputs)) if (!(key in object)) object[key] = value;
    const namespace = typeof metadata.namespace === "string" ? `${metadata.namespace}-` : "";
    objects.push({ file: `${slug(inputs.kind)}-${slug(namespace)}${slug(String(metadata.name))}.yaml`, object });
  }
  return objects.sort((a, b) => a.file.localeCompare(b.file));
}

const MARKER = ".gitops-platform-plan";

/**
 * Writes one YAML file per object plus a kustomization.yaml listing them (so `kubectl kustomize DIR`
 * renders the lot). A directory written earlier by plan is cleared first; any other non-empty
 * directory is refused rather than mixed with.
 */
export function writeKubernetesObjects(result: PlanResult, dir: string): string[] {
  const objects = kubernetesObjects(result);
  if (fs.existsSync(dir)) {
    const entries = fs.readdirSync(dir);
    if (entries.length > 0 && !entries.includes(MARKER)) throw new Error(`--out ${dir}: directory is not empty and was not written by plan; choose another`);
    for (const entry of entries) if (entry.endsWith(".yaml")) fs.rmSync(path.join(dir, entry));
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, MARKER), `Written by \`npm run plan -- --out\` for stack ${result.stack}; secrets are redacted.\n`);
  const seen = new Set<string>();
  const files: string[] = [];
  for (const { file, object } of objects) {
    let name = file;
    for (let i = 2; seen.has(name); i++) name = file.replace(/\.yaml$/, `-${i}.yaml`);
    seen.add(name);
    fs.writeFileSync(path.join(dir, name), dump(object, { noRefs: true, lineWidth: 120, sortKeys: false }));
    files.push(name);
  }
  fs.writeFileSync(
    path.join(dir, "kustomization.yaml"),
    dump({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: files }, { lineWidth: 120 }),
  );
  return files;
}
