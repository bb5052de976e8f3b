/**
 * Renderings of a plan: the resource tree for people, one JSON document for machines, and the
 * Kubernetes objects as YAML files. All of them mask secrets (`[secret]`) and unknowns (`[unknown]`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { dump } from "js-yaml";
import { mask, maskedInputs, maskedOutputs, STACK_TYPE, type PlanResult, type PolicyViolation, type RecordedResource } from "../engine";
import { diffCounts, renderDiff, type PlanDiff } from "./diff";
import { SECRET_MASK } from "../../policies/vocabulary";

// Values longer than this are printed as an indented document under their key, never cut.
const INLINE_WIDTH = 100;

/**
 * Lines showing `key: value`. Short values stay on the key's line; a longer object, array or
 * JSON-encoded string (IAM documents are strings) is pretty-printed below it, and a long plain
 * string is printed whole: nothing that carries meaning is ever cut off.
 */
export function valueLines(key: string, value: unknown, indent: string): string[] {
  const document = typeof value === "string" ? parsedDocument(value) : value;
  const compact = typeof value === "string" && document === undefined ? value : JSON.stringify(document ?? value);
  if (document === undefined || document === null || typeof document !== "object" || `${indent}${key}: ${compact}`.length <= INLINE_WIDTH) {
    if (typeof value === "string" && value.includes("\n")) return [`${indent}${key}: |`, ...value.split("\n").map((line) => `${indent}    ${line}`)];
    return [`${indent}${key}: ${compact}`];
  }
  const label = typeof value === "string" ? `${key}: (JSON)` : `${key}:`;
  return [label, ...JSON.stringify(document, null, 2).split("\n")].map((line, i) => (i === 0 ? `${indent}${line}` : `${indent}    ${line}`));
}

function parsedDocument(text: string): unknown {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function flags(resource: RecordedResource): string {
  const list: string[] = [];
  if (resource.protect) list.push("protect");
  if (resource.retainOnDelete) list.push("retainOnDelete");
  if (resource.deleteBeforeReplace) list.push("deleteBeforeReplace");
  if (!resource.custom) list.push("component");
  return list.length ? `  [${list.join(", ")}]` : "";
}

/** The resource tree with each resource's inputs, then the outputs, the policy verdicts and the summary. */
export function renderTree(result: PlanResult, diff?: PlanDiff): string {
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
        lines.push(...valueLines(key, value, `${inner}${bar}    `));
      }
    }
    kids.forEach((kid, i) => visit(kid, inner, i === kids.length - 1, false));
  };
  for (const top of children.get("") ?? []) visit(top, "", true, true);

  const outputs = Object.entries(maskedOutputs(result));
  lines.push("", "Outputs:");
  if (outputs.length === 0) lines.push("    (none)");
  for (const [key, value] of outputs) lines.push(...valueLines(key, value, "    "));

  if (diff) lines.push("", ...renderDiff(diff));
  const verdicts = renderViolations(result);
  if (verdicts.length) lines.push("", ...verdicts);
  if (result.diagnostics?.length) lines.push("", `Diagnostics (${result.diagnostics.length}):`, ...result.diagnostics.map((d) => `    ${d}`));
  if (result.unexpanded?.length) {
    lines.push("", `Not expanded offline (${result.unexpanded.length}):`);
    for (const u of result.unexpanded) lines.push(`    ${u.urn}`, `        ${u.reason}`);
  }
  lines.push("", ...renderSummary(result, diff));
  return `${lines.join("\n")}\n`;
}

/** A policy note: a policy that could not judge a value known only after deployment. */
export function isPolicyNote(violation: PolicyViolation): boolean {
  return violation.enforcementLevel === "advisory" && /^can't run policy '.*' during preview: /.test(violation.message);
}

/** Policy verdicts: mandatory violations, advisory ones, then the notes (values unknown before deployment). */
export function renderViolations(result: PlanResult): string[] {
  const lines: string[] = [];
  const groups = [
    ["Policy violations, mandatory", result.policyViolations.filter((v) => v.enforcementLevel === "mandatory")],
    ["Policy violations, advisory", result.policyViolations.filter((v) => v.enforcementLevel === "advisory" && !isPolicyNote(v))],
    ["Policy notes, not judged offline", result.policyViolations.filter(isPolicyNote)],
  ] as const;
  for (const [title, found] of groups) {
    if (found.length === 0) continue;
    if (lines.length) lines.push("");
    lines.push(`${title} (${found.length}):`);
    for (const v of found) {
      lines.push(`    [${v.policyPack}] ${v.policyName}${v.resource ? `  ${v.resource}` : ""}`);
      for (const messageLine of v.message.split("\n")) lines.push(`        ${messageLine}`);
    }
  }
  return lines;
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;

/** Counts of the verdicts: mandatory and advisory violations, and notes. */
export function policyCounts(result: PlanResult): { mandatory: number; advisory: number; notes: number } {
  const notes = result.policyViolations.filter(isPolicyNote).length;
  const mandatory = result.policyViolations.filter((v) => v.enforcementLevel === "mandatory").length;
  return { mandatory, advisory: result.policyViolations.length - mandatory - notes, notes };
}

/**
 * The closing block, as a preview ends: resource counts (with a diff base, what changes against
 * it), the policy summary and one verdict line.
 */
export function renderSummary(result: PlanResult, diff?: PlanDiff): string[] {
  const custom = result.resources.filter((r) => r.custom).length;
  const lines = ["Resources:"];
  if (diff) {
    const c = diffCounts(diff);
    const rows: [string, number, string][] = [
      ["+ ", c.create, "to create"],
      ["~ ", c.update, "to update"],
      ["~?", c.mayReplace, "to update (may replace)"],
      ["+-", c.replace, "to replace"],
      ["- ", c.delete, "to delete"],
    ];
    for (const [mark, n, what] of rows) if (n > 0) lines.push(`    ${mark} ${n} ${what}`);
    lines.push(`      ${c.same} unchanged`);
  } else {
    lines.push(`    + ${result.resources.length} to create (${custom} custom, ${plural(result.resources.length - custom, "component")})`);
  }
  const p = policyCounts(result);
  lines.push("", `Policies: ${p.mandatory} mandatory, ${p.advisory} advisory, ${plural(p.notes, "note")}`);
  const against = diff ? ` against ${diff.base}` : "";
  const incomplete = result.unexpanded?.length ? `; incomplete: ${plural(result.unexpanded.length, "component")} not expanded offline` : "";
  const verdict =
    p.mandatory > 0
      ? `Verdict: BLOCKED: ${plural(p.mandatory, "mandatory policy violation")} (${[...new Set(result.policyViolations.filter((v) => v.enforcementLevel === "mandatory").map((v) => v.policyName))].join(", ")})`
      : `Verdict: OK: no mandatory policy violation${p.advisory ? `; ${plural(p.advisory, "advisory violation")} to review` : ""}${incomplete}`;
  lines.push("", `${verdict} · stack ${result.stack}${against} · offline plan, no credentials used`);
  return lines;
}

/** The machine-readable plan. */
export function renderJson(result: PlanResult, diff?: PlanDiff): string {
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
    ...(result.unexpanded?.length ? { unexpanded: result.unexpanded } : {}),
    ...(result.diagnostics?.length ? { diagnostics: result.diagnostics } : {}),
    ...(diff ? { diff: { base: diff.base, counts: diffCounts(diff), changes: diff.changes } } : {}),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** A Kubernetes object a resource declares (custom `kubernetes:` resources with apiVersion and kind). */
export interface RenderedObject {
  readonly file: string;
  readonly object: Record<string, unknown>;
}

const slug = (text: string) => text.toLowerCase().replace(/[^a-z0-9.-]+/g, "-");

// Where a map's values must be base64 (a Secret's data, a ConfigMap's binaryData), placeholders are too.
const BASE64_MAPS: Readonly<Record<string, string>> = { Secret: "data", ConfigMap: "binaryData" };
// Maps a schema requires to be maps; a value unknown as a whole is written as an empty one.
const MAPS: Readonly<Record<string, readonly string[]>> = { Secret: ["data", "stringData"], ConfigMap: ["data", "binaryData"] };

/**
 * A resource's inputs as an object a cluster accepts: secrets and unknowns masked by placeholders
 * that keep the field's type (text, or base64 text in base64 maps), maps kept as maps with their
 * keys (see RecordedResource.layout), a map whose keys are not known offline written empty.
 */
function clusterInputs(resource: RecordedResource): Record<string, unknown> {
  const inputs = mask(resource.layout ?? resource.inputs, resource.secretPaths) as Record<string, unknown>;
  if (inputs.apiVersion !== "v1" || typeof inputs.kind !== "string") return inputs;
  for (const key of MAPS[inputs.kind] ?? []) {
    const value = inputs[key];
    if (value === undefined) continue;
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      inputs[key] = {};
    } else if (BASE64_MAPS[inputs.kind] === key) {
      inputs[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, v === SECRET_MASK || v === "[unknown]" ? Buffer.from(v).toString("base64") : v]));
    }
  }
  return inputs;
}

/** The Kubernetes objects of a plan, masked, with a stable file name each. */
export function kubernetesObjects(result: PlanResult): RenderedObject[] {
  const objects: RenderedObject[] = [];
  for (const resource of result.resources) {
    if (!resource.custom || !resource.type.startsWith("kubernetes:")) continue;
    const inputs = clusterInputs(resource);
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
