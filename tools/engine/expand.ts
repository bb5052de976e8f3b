/**
 * Kubernetes components the provider expands at deploy time, expanded offline as the provider
 * would, so that policies and `plan --out` see the objects inside them.
 *
 * `kubernetes:yaml/v2:ConfigFile` and `ConfigGroup` are "remote" components: the SDK registers one
 * component with its inputs and the provider parses the YAML and registers each object as a child
 * (pulumi/pulumi-kubernetes provider/pkg/provider/yaml/v2: configfile.go, configgroup.go, yaml.go
 * `register`). Here the same: each object becomes a recorded child named `<prefix>:<ns>/<name>`
 * (prefix: `resourcePrefix`, else the component's name), its Secret `data`/`stringData` secret.
 * Kinds whose expansion needs a tool or the network (Helm charts and releases, kustomize
 * directories) stop the run with an error naming the resource; a file fetched over the network at
 * deploy time is not fetched here and is reported in `unexpanded`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadAll } from "js-yaml";
import { isUnknown } from "./values";
import type { RecordedResource } from "./index";

export const CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile";
export const CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup";

/** Types whose expansion needs Helm, kustomize or a cluster: never silently passed over. */
const NOT_EXPANDABLE: Readonly<Record<string, string>> = {
  "kubernetes:helm.sh/v4:Chart": "rendering a Helm chart needs Helm and the chart's repository",
  "kubernetes:helm.sh/v3:Release": "a Helm release is installed by Helm in the cluster",
  "kubernetes:kustomize/v2:Directory": "a kustomize directory is built by the provider at deploy time",
};

/** Thrown for a component the offline engine cannot expand. */
export class ExpansionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExpansionError";
  }
}

/** A component left unexpanded, and why (shown by `plan`). */
export interface Unexpanded {
  readonly urn: string;
  readonly reason: string;
}

const isRemote = (file: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(file);

/**
 * Returns the recorded resources with the objects of every ConfigFile/ConfigGroup inserted after
 * their component; `dir` is where relative files resolve (the program's working directory).
 */
export function expandComponents(resources: readonly RecordedResource[], dir: string): { resources: RecordedResource[]; unexpanded: Unexpanded[] } {
  const out: RecordedResource[] = [];
  const unexpanded: Unexpanded[] = [];
  for (const resource of resources) {
    out.push(resource);
    const refusal = NOT_EXPANDABLE[resource.type];
    if (refusal) throw new ExpansionError(`offline engine: cannot expand ${resource.type} ${JSON.stringify(resource.name)}: ${refusal}; the objects it would declare are not known offline`);
    if (resource.type !== CONFIG_FILE && resource.type !== CONFIG_GROUP) continue;
    const where = `${resource.type} ${JSON.stringify(resource.name)}`;
    const unknownInput = Object.entries(resource.inputs).find(([, value]) => containsUnknown(value));
    if (unknownInput) throw new ExpansionError(`offline engine: cannot expand ${where}: its input ${unknownInput[0]} is unknown until deployment`);
    const sources: { label: string; text: string }[] = [];
    const objects: Record<string, unknown>[] = [];
    const files = resource.type === CONFIG_FILE ? [resource.inputs.file] : asList(resource.inputs.files);
    let remote: string | undefined;
    for (const file of files) {
      if (typeof file !== "string") throw new ExpansionError(`offline engine: ${where}: expected file paths, got ${JSON.stringify(file)}`);
      if (isRemote(file)) {
        remote = file;
        continue;
      }
      for (const match of resource.type === CONFIG_GROUP ? glob(file, dir) : [path.resolve(dir, file)]) {
        if (!fs.existsSync(match)) throw new ExpansionError(`offline engine: ${where}: file ${file} not found (relative paths resolve from ${dir})`);
        sources.push({ label: path.relative(dir, match) || match, text: fs.readFileSync(match, "utf8") });
      }
    }
    for (const [i, text] of asList(resource.inputs.yaml).entries()) sources.push({ label: `yaml[${i}]`, text: String(text) });
    for (const source of sources) {
      let documents: unknown[];
      try {
        documents = loadAll(source.text);
      } catch (error) {
        throw new ExpansionError(`offline engine: ${where}: ${source.label}: ${error instanceof Error ? error.message : String(error)}`);
      }
      objects.push(...documents.filter((d): d is Record<string, unknown> => d !== null && typeof d === "object" && !Array.isArray(d)));
    }
    objects.push(...asList(resource.inputs.objs).filter((o): o is Record<string, unknown> => o !== null && typeof o === "object"));
    if (remote !== undefined) {
      unexpanded.push({ urn: resource.urn, reason: `${remote} is fetched over the network at deploy time; the objects in it are not shown or checked offline` });
    }
    const prefix = typeof resource.inputs.resourcePrefix === "string" ? resource.inputs.resourcePrefix : resource.name;
    out.push(...ordered(objects.flatMap((o) => (isList(o) ? asList(o.items) : [o])) as Record<string, unknown>[]).map((object) => child(resource, object, prefix, where)));
  }
  return { resources: out, unexpanded };
}

function child(parent: RecordedResource, object: Record<string, unknown>, prefix: string, where: string): RecordedResource {
  const { apiVersion, kind } = object;
  const metadata = (object.metadata ?? {}) as Record<string, unknown>;
  if (typeof apiVersion !== "string" || typeof kind !== "string" || typeof metadata.name !== "string" || metadata.name === "") {
    throw new ExpansionError(`offline engine: ${where}: every object needs apiVersion, kind and metadata.name; got ${JSON.stringify(object).slice(0, 100)}`);
  }
  const namespace = typeof metadata.namespace === "string" && metadata.namespace !== "" ? `${metadata.namespace}/` : "";
  const name = `${prefix}:${namespace}${metadata.name}`;
  const type = `kubernetes:${apiVersion.includes("/") ? apiVersion : `core/${apiVersion}`}:${kind}`;
  // The URN's type part is the chain of parent types, as the engine forms it.
  const chain = parent.urn.split("::")[2] ?? parent.type;
  const urn = `${parent.urn.split("::").slice(0, 2).join("::")}::${chain}$${type}::${name}`;
  // The provider marks a Secret's data and stringData secret, whatever the YAML says.
  const secretPaths = apiVersion === "v1" && kind === "Secret" ? ["data", "stringData"].filter((key) => key in object) : [];
  return {
    urn,
    type,
    name,
    parent: parent.urn,
    custom: true,
    inputs: object,
    secretPaths,
    protect: parent.protect,
    retainOnDelete: parent.retainOnDelete,
    additionalSecretOutputs: [],
    dependencies: [],
    propertyDependencies: {},
    ...(parent.provider ? { provider: parent.provider } : {}),
    deleteBeforeReplace: false,
    replaceOnChanges: [],
    ignoreChanges: [],
  };
}

// The provider registers in dependency order; the kinds others depend on come first.
const FIRST = ["CustomResourceDefinition", "Namespace"];
function ordered(objects: Record<string, unknown>[]): Record<string, unknown>[] {
  const rank = (o: Record<string, unknown>) => {
    const i = FIRST.indexOf(String(o.kind));
    return i === -1 ? FIRST.length : i;
  };
  return objects.map((o, i) => ({ o, i })).sort((a, b) => rank(a.o) - rank(b.o) || a.i - b.i).map(({ o }) => o);
}

const isList = (o: Record<string, unknown>) => typeof o.kind === "string" && o.kind.endsWith("List") && Array.isArray(o.items);

function asList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function containsUnknown(value: unknown): boolean {
  if (isUnknown(value)) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}

/** `*` and `?` within one path segment, as Go's filepath.Glob; sorted like it. */
function glob(pattern: string, dir: string): string[] {
  const absolute = path.resolve(dir, pattern);
  if (!/[*?[]/.test(pattern)) return [absolute];
  const parts = absolute.split(path.sep);
  let matches = [parts[0] === "" ? path.sep : (parts[0] as string)];
  for (const part of parts.slice(1)) {
    if (!/[*?[]/.test(part)) {
      matches = matches.map((m) => path.join(m, part));
      continue;
    }
    const re = new RegExp(`^${part.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")}$`);
    matches = matches.flatMap((m) => (fs.existsSync(m) && fs.statSync(m).isDirectory() ? fs.readdirSync(m).filter((e) => re.test(e)).sort().map((e) => path.join(m, e)) : []));
  }
  return matches;
}
