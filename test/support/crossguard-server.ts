// Runs a CrossGuard policy pack the way the Pulumi CLI does — Pulumi's own policy runner
// (@pulumi/pulumi/cmd/run-policy-pack, TypeScript through ts-node) serving the analyzer over gRPC —
// and asks it about a recorded run, as the CLI's engine would during `pulumi preview`: `configure`
// with the pack config, `analyze` for every resource (its inputs), `analyzeStack` once (every
// resource with parent and dependencies; the stack's outputs on the stack resource).
// It speaks the protobuf API of the SDK's generated code, which ships without types: the messages
// are typed here by the few accessors this file calls.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import * as path from "node:path";
import type { PlanResult, RecordedResource } from "../../tools/engine";

/** A generated protobuf message: the setters and getters called here (each message has some of them). */
interface Message {
  setProtect(value: boolean): void;
  setIgnorechangesList(value: readonly string[]): void;
  setAdditionalsecretoutputsList(value: readonly string[]): void;
  setParent(value: string): void;
  setEnforcementlevel(value: number | undefined): void;
  setProperties(value: Message): void;
  setType(value: string): void;
  setUrn(value: string): void;
  setName(value: string): void;
  setOptions(value: Message): void;
  setResourcesList(value: Message[]): void;
  setDependenciesList(value: readonly string[]): void;
  setUrnsList(value: readonly string[]): void;
  getPolicyconfigMap(): Map<string, Message>;
  getPropertydependenciesMap(): Map<string, Message>;
  getDiagnosticsList(): Message[];
  getMessage(): string;
  getDescription(): string;
  getPolicyname(): string;
  getEnforcementlevel(): number;
  getUrn(): string;
  getPoliciesList(): Message[];
  getName(): string;
}
type MessageClass = new () => Message;
type Messages = Record<string, MessageClass>;
type Callback = (error: Error | null, response: Message) => void;
type AnalyzerClient = Record<string, ((request: Message, callback: Callback) => void) | undefined> & { close(): void };

const projectRequire = createRequire(__filename);
const pulumiDir = path.dirname(projectRequire.resolve("@pulumi/pulumi/package.json"));
const fromPolicy = createRequire(projectRequire.resolve("@pulumi/policy"));
const grpc = fromPolicy("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
const pb = projectRequire(path.join(pulumiDir, "proto", "analyzer_pb.js")) as Messages;
const rpc = projectRequire(path.join(pulumiDir, "proto", "analyzer_grpc_pb.js")) as {
  AnalyzerClient: new (address: string, credentials: ReturnType<typeof grpc.credentials.createInsecure>) => AnalyzerClient;
};
const { Struct } = createRequire(path.join(pulumiDir, "proto", "analyzer_pb.js"))("google-protobuf/google/protobuf/struct_pb.js") as {
  Struct: { fromJavaScript(value: unknown): Message };
};

export interface ServerDiagnostic {
  policyName: string;
  enforcementLevel: string;
  urn?: string;
  message: string;
}

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const LEVELS: Record<string, number> = { advisory: 0, mandatory: 1, disabled: 2, remediate: 3 };
const LEVEL_NAMES = ["advisory", "mandatory", "disabled", "remediate"];

function wire(value: unknown, isUnknown: (value: unknown) => boolean): unknown {
  if (isUnknown(value)) return UNKNOWN;
  if (Array.isArray(value)) return value.map((item) => wire(item, isUnknown));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wire(v, isUnknown)]));
  return value;
}

function message(name: string): Message {
  const Class = pb[name];
  if (Class === undefined) throw new Error(`analyzer_pb.js has no message ${name}`);
  return new Class();
}

function options(resource: RecordedResource): Message {
  const opts = message("AnalyzerResourceOptions");
  opts.setProtect(resource.protect);
  opts.setIgnorechangesList(resource.ignoreChanges);
  opts.setAdditionalsecretoutputsList(resource.additionalSecretOutputs);
  if (resource.parent) opts.setParent(resource.parent);
  return opts;
}

/**
 * Starts the pack's analyzer server; resolves to { call, stop }. With `ownRunner`, the runner is the
 * one in the pack's own node_modules, as the CLI's pulumi-analyzer-policy resolves it from the pack's
 * folder, and modules resolve from where they are linked there, not from where the links lead.
 */
function start(packDir: string, ownRunner = false): Promise<{ call(method: string, request: Message): Promise<Message>; stop(): void }> {
  const runner = ownRunner
    ? ["--preserve-symlinks", "--preserve-symlinks-main", path.join(packDir, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack")]
    : [path.join(pulumiDir, "cmd", "run-policy-pack")];
  const child = spawn(process.execPath, [...runner, "127.0.0.1:0", "."], { cwd: packDir, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`policy pack exited with ${code}: ${stderr}`)));
    child.stdout.once("data", (chunk: Buffer) => {
      const client = new rpc.AnalyzerClient(`127.0.0.1:${chunk.toString().trim()}`, grpc.credentials.createInsecure());
      const call = (method: string, request: Message) =>
        new Promise<Message>((ok, fail) => {
          const rpcMethod = client[method];
          if (rpcMethod === undefined) throw new Error(`the analyzer has no method ${method}`);
          rpcMethod.call(client, request, (error, response) => (error ? fail(error) : ok(response)));
        });
      resolve({
        call,
        stop: () => {
          client.close();
          child.removeAllListeners("exit");
          child.kill();
        },
      });
    });
  });
}

/**
 * Every diagnostic the pack's server reports for the run: { policyName, enforcementLevel, urn, message },
 * the message without the description line the server puts first.
 */
export async function analyzeWithServer({
  packDir,
  config,
  result,
  isUnknown,
}: {
  packDir: string;
  config: Record<string, unknown>;
  result: PlanResult;
  isUnknown: (value: unknown) => boolean;
}): Promise<ServerDiagnostic[]> {
  const server = await start(packDir);
  try {
    const configure = message("ConfigureAnalyzerRequest");
    const policyConfig = configure.getPolicyconfigMap();
    for (const [name, value] of Object.entries(config)) {
      const { enforcementLevel, ...properties } = (typeof value === "string" ? { enforcementLevel: value } : value) as { enforcementLevel?: string };
      const entry = message("PolicyConfig");
      entry.setEnforcementlevel(LEVELS[enforcementLevel ?? "advisory"]);
      entry.setProperties(Struct.fromJavaScript(properties));
      policyConfig.set(name, entry);
    }
    await server.call("configure", configure);

    const diagnostics: ServerDiagnostic[] = [];
    const collect = (response: Message, urn?: string) => {
      for (const d of response.getDiagnosticsList()) {
        const text = d.getMessage();
        const description = d.getDescription();
        diagnostics.push({
          policyName: d.getPolicyname(),
          enforcementLevel: LEVEL_NAMES[d.getEnforcementlevel()] as string,
          urn: urn ?? (d.getUrn() || undefined),
          message: description && text.startsWith(`${description}\n`) ? text.slice(description.length + 1) : text,
        });
      }
    };
    for (const resource of result.resources) {
      const request = message("AnalyzeRequest");
      request.setType(resource.type);
      request.setUrn(resource.urn);
      request.setName(resource.name);
      request.setProperties(Struct.fromJavaScript(wire(resource.inputs, isUnknown)));
      request.setOptions(options(resource));
      collect(await server.call("analyze", request), resource.urn);
    }
    const stack = message("AnalyzeStackRequest");
    stack.setResourcesList(
      result.resources.map((resource) => {
        const r = message("AnalyzerResource");
        r.setType(resource.type);
        r.setUrn(resource.urn);
        r.setName(resource.name);
        r.setProperties(Struct.fromJavaScript(wire(resource.type === "pulumi:pulumi:Stack" ? result.outputs : resource.inputs, isUnknown)));
        r.setOptions(options(resource));
        if (resource.parent) r.setParent(resource.parent);
        r.setDependenciesList(resource.dependencies);
        for (const [key, urns] of Object.entries(resource.propertyDependencies)) {
          const deps = message("AnalyzerPropertyDependencies");
          deps.setUrnsList(urns);
          r.getPropertydependenciesMap().set(key, deps);
        }
        return r;
      }),
    );
    collect(await server.call("analyzeStack", stack));
    return diagnostics;
  } finally {
    server.stop();
  }
}


/** The names of the policies the pack's analyzer server lists (GetAnalyzerInfo), run by the pack's own runner. */
export async function policyNamesFromOwnRunner(packDir: string): Promise<string[]> {
  const server = await start(packDir, true);
  try {
    const { Empty } = createRequire(path.join(pulumiDir, "proto", "analyzer_pb.js"))("google-protobuf/google/protobuf/empty_pb.js") as { Empty: MessageClass };
    const info = await server.call("getAnalyzerInfo", new Empty());
    return info.getPoliciesList().map((policy) => policy.getName());
  } finally {
    server.stop();
  }
}
