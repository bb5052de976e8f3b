/**
 * The offline engine: runs a Pulumi program under Pulumi's mock runtime and records what it
 * declares, as `pulumi preview` would see it, without the CLI, provider plugins or a cloud.
 *
 * - config is fed as the CLI would (secure values become opaque secrets),
 * - invokes get fixed offline answers (./invokes), unanswered ones fail,
 * - every registration is recorded with its inputs and options by wrapping the mock monitor,
 * - provider-computed outputs stay unknown (preview mode), never invented.
 */
import * as pulumi from "@pulumi/pulumi";
import { expandComponents } from "./expand";
import { answerInvoke } from "./invokes";
import { decode, UNKNOWN, isUnknown, mask, valueAt, joinPath } from "./values";
import { STACK_TYPE, type PlanResult, type RecordedResource } from "./result";
// Entry files are bundled with esbuild (cached) and evaluated anew on every run.
import { loadBundled } from "../build/bundle.mts";

export { UNKNOWN, isUnknown, mask, valueAt, joinPath };
export { loadStackConfig, readProject, readYamlMapping, StackFileError, type ShowPath, type StackConfig } from "./stack-config";
export { UnansweredInvokeError, OFFLINE_INVOKES } from "./invokes";
export { ExpansionError, type Unexpanded } from "./expand";
export { findResource, maskedInputs, maskedOutputs, resourcesOfType, STACK_TYPE, type PlanResult, type PolicyViolation, type RecordedResource } from "./result";

/** One run of a program. */
export interface EngineRun {
  /** Stack name, e.g. `staging`. */
  readonly stack: string;
  /** Config values by `<namespace>:<key>`; objects as objects (not JSON-encoded). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Keys whose values are secrets. */
  readonly secretKeys?: readonly string[];
  /** A function (may return outputs or a promise of them) or the path of an entry file (TS or JS). */
  readonly program: (() => unknown) | string;
  /** Preview mode: provider-computed outputs are unknown, as in `pulumi preview`. @default true */
  readonly preview?: boolean;
  /** Project name. @default "gitops-platform" */
  readonly project?: string;
  /**
   * Values a fake provider computes for a resource (e.g. a key pair's public key), for tests that
   * need them. `plan` never sets it: offline, a provider-computed value stays unknown.
   * @default none
   */
  readonly providerOutputs?: (resource: { readonly type: string; readonly name: string; readonly inputs: Record<string, unknown> }) =>
    | Record<string, unknown>
    | undefined;
  /**
   * Keep the bundle of an entry file in the on-disk cache. Off for throw-away checkouts (the
   * revision `plan --diff` compares against), whose paths never recur. @default true
   */
  readonly cacheBundle?: boolean;
  /** The program's working directory: relative files of Kubernetes YAML components resolve from it. @default process.cwd() */
  readonly cwd?: string;
}

// The mock monitor's request objects are protobuf messages; only the getters used here are typed.
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  getProtect(): boolean | undefined;
  getRetainondelete(): boolean | undefined;
  getAdditionalsecretoutputsList(): string[];
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(fn: (value: { getUrnsList(): string[] }, key: string) => void): void };
  getProvider(): string;
  getDeletebeforereplace(): boolean;
  getReplaceonchangesList(): string[];
  getIgnorechangesList(): string[];
  getDeletedwith(): string;
}
interface OutputsRequest {
  getUrn(): string;
  getOutputs(): { toJavaScript(): Record<string, unknown> } | undefined;
}
type Callback = (err: unknown, response?: { getUrn?: () => string }) => void;
interface MockMonitorLike {
  newUrn(parent: string, type: string, name: string): string;
  registerResource(req: RegisterRequest, callback: Callback): Promise<void> | void;
  registerResourceOutputs(req: OutputsRequest, callback: Callback): void;
}

// Internal SDK hooks, exported at run time but not in the typings; both are stable across 3.x.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs?: () => Promise<void> };

let running = false;

/**
 * Runs a program under the mock runtime and returns what it declared. Runs are serialised: the
 * Pulumi runtime is process-global.
 */
export async function runProgram(run: EngineRun): Promise<PlanResult> {
  if (running) throw new Error("offline engine: runProgram is already running in this process; await the previous run");
  running = true;
  try {
    return await runOnce(run);
  } finally {
    running = false;
  }
}

async function runOnce(run: EngineRun): Promise<PlanResult> {
  const project = run.project ?? "gitops-platform";
  const preview = run.preview ?? true;
  const configuredRegion = run.config["aws:region"];
  const region = typeof configuredRegion === "string" ? configuredRegion : "us-east-1";
  const recorded: RecordedResource[] = [];
  const stackOutputs: { raw?: Record<string, unknown> } = {};

  // Configure before the program reads anything; objects are JSON-encoded as the CLI passes them.
  const encoded: Record<string, string> = {};
  for (const [key, value] of Object.entries(run.config)) encoded[key] = typeof value === "string" ? value : JSON.stringify(value);
  pulumi.runtime.setAllConfig(encoded, [...(run.secretKeys ?? [])]);

  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const inputs = args.inputs as Record<string, unknown>;
        const computed = run.providerOutputs?.({ type: args.type, name: args.name, inputs });
        return {
          // Preview: no id and no computed outputs; echoing the inputs keeps input-derived values known.
          id: preview ? undefined : `${args.name}-offline-id`,
          state: computed ? { ...inputs, ...computed } : inputs,
        };
      },
      call: (args) => answerInvoke({ token: args.token, inputs: args.inputs as Record<string, unknown>, region }),
    },
    project,
    run.stack,
    preview,
  );

  const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitorLike;
  // URNs as the real engine forms them: the full chain of parent types, without the root stack.
  monitor.newUrn = (parent, type, name) => {
    const parentType = parent ? (parent.split("::")[2] ?? "") : "";
    const qualified = parentType && parentType !== STACK_TYPE ? `${parentType}$${type}` : type;
    return `urn:pulumi:${run.stack}::${project}::${qualified}::${name}`;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) =>
    register(req, (err, response) => {
      if (!err && response?.getUrn) recorded.push(recordResource(req, response.getUrn()));
      callback(err, response);
    });
  const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req, callback) => {
    if (req.getUrn().endsWith(`::${STACK_TYPE}::${project}-${run.stack}`)) stackOutputs.raw = req.getOutputs()?.toJavaScript() ?? {};
    registerOutputs(req, callback);
  };

  const program: () => unknown = typeof run.program === "string" ? programFromFile(run.program, run.cacheBundle ?? true) : run.program;
  let failure: unknown;
  // Like the CLI's language host, the engine owns the program's stray rejections (a failed invoke
  // rejects every output derived from it): the first one fails the run, none escapes the process.
  const others = process.listeners("unhandledRejection");
  process.removeAllListeners("unhandledRejection");
  const onRejection = (reason: unknown) => {
    failure ??= reason;
  };
  process.on("unhandledRejection", onRejection);
  // The SDK captures a stack trace for every RPC promise, only ever shown when debugging promise
  // leaks; formatting them is a third of a large run. Source positions of resources are unaffected
  // (the SDK raises the limit itself to find them). PLAN_DEBUG keeps full traces.
  const stackTraceLimit = Error.stackTraceLimit;
  if (!process.env.PLAN_DEBUG) Error.stackTraceLimit = 0;
  // Without an engine to send them to, the SDK prints its warnings and errors to the console
  // (@pulumi/pulumi log/index.js); they belong to the run's result, as a preview's diagnostics do.
  const diagnostics: string[] = [];
  const warn = console.warn.bind(console);
  const printError = console.error.bind(console);
  const capture = (print: (...args: unknown[]) => void) => (...args: unknown[]) => {
    const [first] = args;
    if (args.length === 1 && typeof first === "string" && /^(warning|error): \[runtime\] /.test(first)) diagnostics.push(first.replace(" [runtime]", ""));
    else print(...args);
  };
  const [originalWarn, originalError] = [Object.getOwnPropertyDescriptor(console, "warn"), Object.getOwnPropertyDescriptor(console, "error")];
  console.warn = capture(warn);
  console.error = capture(printError);
  // The keys of a Secret's maps as the program declared them, read before registration turns a map
  // holding an unknown value into one unknown (see RecordedResource.layout). Only Secrets: their
  // SDK is what wraps whole maps (data, stringData) in one secret output.
  const layouts = new Map<string, Promise<unknown> | "ambiguous">();
  const readLayout: pulumi.ResourceTransformation = (args) => {
    if (args.type === "kubernetes:core/v1:Secret") {
      const key = `${args.type}::${args.name}`;
      layouts.set(key, layouts.has(key) ? "ambiguous" : layoutOf(args.props, 0).catch(() => undefined));
    }
    return undefined;
  };
  try {
    await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation(readLayout);
      return (await program()) as pulumi.Inputs | undefined;
    });
  } catch (error) {
    failure ??= error;
  }
  try {
    if (settings.waitForRPCs) await settings.waitForRPCs().catch((error: unknown) => (failure ??= error));
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    if (originalWarn) Object.defineProperty(console, "warn", originalWarn);
    if (originalError) Object.defineProperty(console, "error", originalError);
    Error.stackTraceLimit = stackTraceLimit;
    process.removeListener("unhandledRejection", onRejection);
    for (const listener of others) process.on("unhandledRejection", listener);
  }
  if (failure !== undefined) throw unwrapRunError(failure);

  const outputs = decode(stackOutputs.raw ?? {});
  for (const [i, resource] of recorded.entries()) {
    const pending = layouts.get(`${resource.type}::${resource.name}`);
    if (pending === undefined || pending === "ambiguous") continue;
    const layout = withLayout(resource.inputs, await pending);
    if (layout !== resource.inputs) recorded[i] = { ...resource, layout: layout as Record<string, unknown> };
  }
  const expanded = expandComponents(recorded, run.cwd ?? process.cwd());
  return {
    project,
    stack: run.stack,
    preview,
    resources: expanded.resources,
    ...(expanded.unexpanded.length ? { unexpanded: expanded.unexpanded } : {}),
    ...(diagnostics.length ? { diagnostics } : {}),
    outputs: outputs.value as Record<string, unknown>,
    outputSecretPaths: outputs.secretPaths,
    policyViolations: [],
  };
}

function recordResource(req: RegisterRequest, urn: string): RecordedResource {
  const { value, secretPaths } = decode(req.getObject()?.toJavaScript() ?? {});
  const propertyDependencies: Record<string, string[]> = {};
  req.getPropertydependenciesMap().forEach((deps, key) => {
    propertyDependencies[key] = [...deps.getUrnsList()];
  });
  const parent = req.getParent();
  const provider = req.getProvider();
  const deletedWith = req.getDeletedwith();
  return {
    urn,
    type: req.getType(),
    name: req.getName(),
    ...(parent ? { parent } : {}),
    custom: req.getCustom(),
    inputs: value as Record<string, unknown>,
    secretPaths,
    protect: req.getProtect() === true,
    retainOnDelete: req.getRetainondelete() === true,
    additionalSecretOutputs: [...req.getAdditionalsecretoutputsList()],
    dependencies: [...req.getDependenciesList()],
    propertyDependencies,
    ...(provider ? { provider } : {}),
    deleteBeforeReplace: req.getDeletebeforereplace(),
    replaceOnChanges: [...req.getReplaceonchangesList()],
    ignoreChanges: [...req.getIgnorechangesList()],
    ...(deletedWith ? { deletedWith } : {}),
  };
}

/** Pulumi semantics for an entry module: a function is called; otherwise its exports are the outputs. */
function programFromFile(file: string, cache: boolean): () => unknown {
  return () => {
    const exported = loadBundled(file, { cache });
    if (typeof exported === "function") return (exported as () => unknown)();
    if (exported && typeof exported === "object") {
      const keys = Object.keys(exported).filter((key) => key !== "__esModule");
      const fallback = (exported as { default?: unknown }).default;
      if (keys.length === 1 && keys[0] === "default" && typeof fallback === "function") return (fallback as () => unknown)();
      return Object.fromEntries(keys.map((key) => [key, (exported as Record<string, unknown>)[key]]));
    }
    return undefined;
  };
}

/** A program's input value with outputs and promises resolved, unknowns as {@link UNKNOWN}. */
async function layoutOf(value: unknown, depth: number): Promise<unknown> {
  if (depth > 32) return UNKNOWN;
  let resolved = value;
  // `promise(true)` keeps unknown members visible instead of collapsing the whole value (SDK internal, stable across 3.x).
  if (pulumi.Output.isInstance(resolved)) resolved = await (resolved as unknown as { promise(withUnknowns: boolean): Promise<unknown> }).promise(true);
  else if (resolved instanceof Promise) resolved = await resolved;
  if (pulumi.isUnknown(resolved)) return UNKNOWN;
  if (Array.isArray(resolved)) return Promise.all(resolved.map((item) => layoutOf(item, depth + 1)));
  if (resolved !== null && typeof resolved === "object" && Object.getPrototypeOf(resolved) === Object.prototype) {
    const entries = await Promise.all(Object.entries(resolved).map(async ([key, item]) => [key, await layoutOf(item, depth + 1)] as const));
    return Object.fromEntries(entries.filter(([, item]) => item !== undefined));
  }
  return resolved;
}

/** `inputs` with each unknown value whose layout is a map or list replaced by its keys, values unknown; the same object when none is. */
function withLayout(inputs: unknown, layout: unknown): unknown {
  if (isUnknown(inputs)) return layout !== null && typeof layout === "object" && !isUnknown(layout) ? keysOnly(layout) : inputs;
  if (inputs === null || typeof inputs !== "object" || layout === null || typeof layout !== "object") return inputs;
  let changed = false;
  const out: Record<string, unknown> | unknown[] = Array.isArray(inputs) ? [...(inputs as unknown[])] : { ...(inputs as Record<string, unknown>) };
  for (const key of Object.keys(out)) {
    const before = (out as Record<string, unknown>)[key];
    const after = withLayout(before, (layout as Record<string, unknown>)[key]);
    if (after !== before) {
      (out as Record<string, unknown>)[key] = after;
      changed = true;
    }
  }
  return changed ? out : inputs;
}

// Keys only: a value the engine does not know stays unknown, however the program computed it.
function keysOnly(layout: unknown): unknown {
  if (Array.isArray(layout)) return layout.map(keysOnly);
  if (layout !== null && typeof layout === "object" && !isUnknown(layout)) return Object.fromEntries(Object.entries(layout).map(([key, item]) => [key, keysOnly(item)]));
  return UNKNOWN;
}

// The SDK wraps program failures (e.g. in a RunError); surface the original error and message.
function unwrapRunError(error: unknown): unknown {
  if (error instanceof Error && error.name === "RunError" && error.message) {
    const inner = (error as { innerError?: unknown }).innerError;
    if (inner instanceof Error) return inner;
  }
  return error;
}
