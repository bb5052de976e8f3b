// What image automation may write, read from a stack's offline plan: the scope the automation
// workflow checks an automation pull request against.
import { DeliveryConfigError } from "./errors.mts";

const IMAGE_UPDATE_AUTOMATION_TYPE = "kubernetes:image.toolkit.fluxcd.io/v1:ImageUpdateAutomation";
const IMAGE_POLICY_TYPE = "kubernetes:image.toolkit.fluxcd.io/v1:ImagePolicy";

/** What the image automations of one checkout branch may change through their push branch. */
export interface AutomationScope {
  /** The environment branch the automation checks out: the pull request's base. */
  readonly base: string;
  /** The branch the automation pushes to: the pull request's head. */
  readonly head: string;
  /** Directories the automations update (`spec.update.path`), each ending in `/`. */
  readonly paths: string[];
  /** Image policies the automations apply, as `<namespace>:<name>`. */
  readonly policies: string[];
}

/** A value of the plan's JSON, read field by field: anything may be missing or of another type. */
type Json = Record<string, unknown>;

function object(value: unknown): Json {
  return value !== null && typeof value === "object" ? (value as Json) : {};
}

/** `./clusters/base`, `clusters/base/` -> `clusters/base/`; null for a path outside the repository. */
function repoDirectory(updatePath: string): string | null {
  const parts = updatePath.split("/").filter((part) => part !== "" && part !== ".");
  if (updatePath.startsWith("/") || parts.length === 0 || parts.includes("..")) return null;
  return `${parts.join("/")}/`;
}

/**
 * What image automation may write, read from a stack's offline plan (`npm run plan -- --json`),
 * the objects the program declares: per pair of checkout and push branch of its
 * ImageUpdateAutomations, the directories they update (`spec.update.path`) and the image policies
 * (`<namespace>:<name>`) their `policySelector` picks. Flux (image-automation-controller
 * `api/v1/imageupdateautomation_types.go`): an empty policySelector selects every ImagePolicy of
 * the automation's namespace, and the Setters strategy rewrites only marked fields under the path.
 * Throws a DeliveryConfigError for an automation whose branches or path are not plain values.
 */
export function automationScope(plan: unknown): AutomationScope[] {
  const resources = Array.isArray(object(plan).resources) ? (object(plan).resources as unknown[]).map(object) : null;
  if (resources === null) throw new DeliveryConfigError(["plan: expected the JSON of `npm run plan -- --json` (a resources list)"]);
  const policies = resources.filter((r) => r.type === IMAGE_POLICY_TYPE).map((r) => ({ metadata: object(object(r.inputs).metadata) }));
  const problems: string[] = [];
  const groups = new Map<string, { base: string; head: string; paths: Set<string>; policies: Set<string> }>();
  for (const resource of resources.filter((r) => r.type === IMAGE_UPDATE_AUTOMATION_TYPE)) {
    const metadata = object(object(resource.inputs).metadata);
    const spec = object(object(resource.inputs).spec);
    const where = `ImageUpdateAutomation ${String(metadata.namespace)}/${String(metadata.name)}`;
    const git = object(spec.git);
    const base = object(object(git.checkout).ref).branch;
    const head = object(git.push).branch || base;
    const update = object(spec.update);
    const directory = typeof update.path === "string" ? repoDirectory(update.path) : null;
    const found: string[] = [];
    if (typeof metadata.namespace !== "string" || typeof metadata.name !== "string") found.push(`${where}: expected a known namespace and name`);
    if (typeof base !== "string" || base === "") found.push(`${where}: spec.git.checkout.ref.branch: expected a branch name`);
    if (typeof head !== "string" || head === "") found.push(`${where}: spec.git.push.branch: expected a branch name`);
    if (update.strategy !== "Setters") found.push(`${where}: spec.update.strategy: expected Setters, got ${JSON.stringify(update.strategy)}`);
    if (directory === null) found.push(`${where}: spec.update.path: expected a directory of the repository, got ${JSON.stringify(update.path)}`);
    if (found.length > 0 || typeof base !== "string" || typeof head !== "string" || directory === null) {
      problems.push(...found);
      continue;
    }
    if (head === base) {
      problems.push(`${where}: pushes to its checkout branch ${base}: there is no automation pull request to review`);
      continue;
    }
    const matchLabels = object(object(spec.policySelector).matchLabels);
    const selected = policies
      .filter(({ metadata: m }) => m.namespace === metadata.namespace && typeof m.name === "string")
      .filter(({ metadata: m }) => Object.entries(matchLabels).every(([key, value]) => object(m.labels)[key] === value))
      .map(({ metadata: m }) => `${String(m.namespace)}:${String(m.name)}`);
    const key = `${base}\u0000${head}`;
    const group = groups.get(key) ?? { base, head, paths: new Set<string>(), policies: new Set<string>() };
    group.paths.add(directory);
    for (const policy of selected) group.policies.add(policy);
    groups.set(key, group);
  }
  if (problems.length > 0) throw new DeliveryConfigError(problems);
  return [...groups.values()].map((g) => ({ base: g.base, head: g.head, paths: [...g.paths].sort(), policies: [...g.policies].sort() }));
}
