// Runs a CrossGuard policy pack the way the Pulumi CLI does — Pulumi's own policy runner
// (@pulumi/pulumi/cmd/run-policy-pack, TypeScript through ts-node) serving the analyzer over gRPC —
// and asks it about a recorded run, as the CLI's engine would during `pulumi preview`: `configure`
// with the pack config, `analyze` for every resource (its inputs), `analyzeStack` once (every
// resource with parent and dependencies; the stack's outputs on the stack resource).
// Plain CommonJS: it speaks the protobuf API of the SDK's generated code.
"use strict";
const { spawn } = require("node:child_process");
const { createRequire } = require("node:module");
const path = require("node:path");

const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const fromPolicy = createRequire(require.resolve("@pulumi/policy"));
const grpc = fromPolicy("@grpc/grpc-js");
const pb = require(path.join(pulumiDir, "proto", "analyzer_pb.js"));
const rpc = require(path.join(pulumiDir, "proto", "analyzer_grpc_pb.js"));
const { Struct } = createRequire(path.join(pulumiDir, "proto", "analyzer_pb.js"))("google-protobuf/google/protobuf/struct_pb.js");

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const LEVELS = { advisory: 0, mandatory: 1, disabled: 2, remediate: 3 };
const LEVEL_NAMES = ["advisory", "mandatory", "disabled", "remediate"];

function wire(value, isUnknown) {
  if (isUnknown(value)) return UNKNOWN;
  if (Array.isArray(value)) return value.map((item) => wire(item, isUnknown));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wire(v, isUnknown)]));
  return value;
}

function options(resource) {
  const opts = new pb.AnalyzerResourceOptions();
  opts.setProtect(resource.protect);
  opts.setIgnorechangesList(resource.ignoreChanges);
  opts.setAdditionalsecretoutputsList(resource.additionalSecretOutputs);
  if (resource.parent) opts.setParent(resource.parent);
  return opts;
}

/** Starts the pack's analyzer server; resolves to { call, stop }. */
function start(packDir) {
  const child = spawn(process.execPath, [path.join(pulumiDir, "cmd", "run-policy-pack"), "127.0.0.1:0", "."], { cwd: packDir, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`policy pack exited with ${code}: ${stderr}`)));
    child.stdout.once("data", (chunk) => {
      const client = new rpc.AnalyzerClient(`127.0.0.1:${String(chunk).trim()}`, grpc.credentials.createInsecure());
      const call = (method, request) => new Promise((ok, fail) => client[method](request, (error, response) => (error ? fail(error) : ok(response))));
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
async function analyzeWithServer({ packDir, config, result, isUnknown }) {
  const server = await start(packDir);
  try {
    const configure = new pb.ConfigureAnalyzerRequest();
    for (const [name, value] of Object.entries(config)) {
      const { enforcementLevel, ...properties } = typeof value === "string" ? { enforcementLevel: value } : value;
      const entry = new pb.PolicyConfig();
      entry.setEnforcementlevel(LEVELS[enforcementLevel ?? "advisory"]);
      entry.setProperties(Struct.fromJavaScript(properties));
      configure.getPolicyconfigMap().set(name, entry);
    }
    await server.call("configure", configure);

    const diagnostics = [];
    const collect = (response, urn) => {
      for (const d of response.getDiagnosticsList()) {
        const message = d.getMessage();
        const description = d.getDescription();
        diagnostics.push({
          policyName: d.getPolicyname(),
          enforcementLevel: LEVEL_NAMES[d.getEnforcementlevel()],
          urn: urn ?? (d.getUrn() || undefined),
          message: description && message.startsWith(`${description}\n`) ? message.slice(description.length + 1) : message,
        });
      }
    };
    for (const resource of result.resources) {
      const request = new pb.AnalyzeRequest();
      request.setType(resource.type);
      request.setUrn(resource.urn);
      request.setName(resource.name);
      request.setProperties(Struct.fromJavaScript(wire(resource.inputs, isUnknown)));
      request.setOptions(options(resource));
      collect(await server.call("analyze", request), resource.urn);
    }
    const stack = new pb.AnalyzeStackRequest();
    stack.setResourcesList(
      result.resources.map((resource) => {
        const r = new pb.AnalyzerResource();
        r.setType(resource.type);
        r.setUrn(resource.urn);
        r.setName(resource.name);
        r.setProperties(Struct.fromJavaScript(wire(resource.type === "pulumi:pulumi:Stack" ? result.outputs : resource.inputs, isUnknown)));
        r.setOptions(options(resource));
        if (resource.parent) r.setParent(resource.parent);
        r.setDependenciesList(resource.dependencies);
        for (const [key, urns] of Object.entries(resource.propertyDependencies)) {
          const deps = new pb.AnalyzerPropertyDependencies();
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

module.exports = { analyzeWithServer };
