/**
 * The real Pulumi CLI (built from its Go module by e2e/build.sh) against a copy of this project,
 * with a local file backend and no network: the CLI's own handling of `Pulumi.yaml` and
 * `Pulumi.<stack>.yaml` (stack init, secrets, namespaced keys, required keys, declared types), then
 * `pulumi preview` running index.ts up to where it needs a provider plugin.
 *
 * Where it stops, and why: the Go module proxy refuses the Node.js language host's module
 * (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3: 403 for its version list, for
 * `master` and for a pseudo-version of a release commit), so the `pulumi-language-nodejs` binary
 * cannot be built here; a plain `pulumi preview` stops at loading it, and that stop is asserted.
 * The program then runs through the CLI's `--client` flag against the language runtime that
 * @pulumi/pulumi itself ships for inline programs (automation/server.js, LanguageServer, the one
 * `LocalWorkspace` starts), with index.ts loaded as the SDK's cmd/run loads it (its ts-node, the
 * project's tsconfig). The CLI still reads the stack, merges and checks the config, decrypts the
 * secrets and hands them over in its RunRequest, built by the same client as for a launched host
 * (pkg/engine/plugin_host.go wraps the --client connection in plugin.NewLanguageRuntimeClient,
 * read at v3.274.1). No provider plugin is built: the first resource that needs one stops the
 * preview, and that stop is asserted.
 *
 * Also a command (`node tools/build/run-ts.mts e2e/pulumi-cli.ts host <programDir> <recordFile>`): that
 * language runtime, in its own process so the program's module state stays out of the e2e's.
 */
import { createRequire } from "node:module";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import * as yaml from "js-yaml";
import { start, stop } from "./lib/procs";
import { must, run, seen, waitFor, type CommandResult } from "./lib/util";
import { readEnvironments } from "../components/config/environments";
import { loadStackConfig } from "../tools/engine/stack-config";

const ROOT = path.resolve(__dirname, "..");
const PROJECT = "gitops-platform";
/** The version e2e/build.sh builds (see there for why it is not the workflows' 3.270.0). */
export const PULUMI_CLI_VERSION = "v3.274.1";

/** What the CLI handed the language runtime in its RunRequest. */
interface RunRecord {
  readonly project: string;
  readonly stack: string;
  readonly config: Record<string, string>;
  readonly secretKeys: string[];
}

/** One engine event of `--event-log` (the fields read here). */
interface EngineEvent {
  readonly resourcePreEvent?: { readonly metadata?: { readonly urn?: string; readonly type?: string } };
  readonly diagnosticEvent?: { readonly message?: string; readonly severity?: string; readonly urn?: string };
}

/** Fails with `what`, the expectation and what was seen. */
function expectThat(ok: boolean, what: string, saw: string): void {
  if (!ok) throw new Error(`${what}; saw: ${saw.trim().slice(0, 1500)}`);
}

const output = (r: CommandResult): string => `${r.stdout}\n${r.stderr}`;

/** The project copied without node_modules (linked: the same installed SDKs) or .git. */
function copyProject(to: string): void {
  fs.cpSync(ROOT, to, { recursive: true, filter: (from) => !/(^|\/)(node_modules|\.git)$/.test(path.relative(ROOT, from)) });
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(to, "node_modules"));
}

/** Values for the stack files' `secure: PLACEHOLDER` keys, shaped as the program checks them. */
async function secretValues(): Promise<Record<string, string>> {
  const pem = await must("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-outform", "PEM"]);
  return {
    [`${PROJECT}:notificationsAppPrivateKey`]: pem,
    [`${PROJECT}:notificationsAlertAddress`]: `https://hooks.slack.com/services/E2E/${crypto.randomBytes(6).toString("hex")}`,
    [`${PROJECT}:notificationsAlertHmacKey`]: crypto.randomBytes(32).toString("hex"),
  };
}

/**
 * e2e override: the shipped stack files' example values (components/config/placeholders.ts), which a real
 * preview refuses, replaced by values of the same shape that are nobody's: an account id that is
 * not an example one, an organisation name, a private block, a host under `.test` (RFC 2606,
 * reserved for testing), a digest that is not all zeros. Nothing is contacted with them.
 */
export const EXAMPLE_OVERRIDES: readonly (readonly [RegExp, string])[] = [
  [/\b(111111111111|222222222222)\b/g, "314159265358"],
  [/\bacme-corp\b/g, "e2e-org"],
  [/\b203\.0\.113\.0\/24\b/g, "10.99.0.0/16"],
  [/\bexample\.com\b/g, "e2e.test"],
  [/@sha256:0{64}\b/g, `@sha256:${crypto.createHash("sha256").update("gitops-platform e2e").digest("hex")}`],
];

export function overrideExamples(text: string): string {
  return EXAMPLE_OVERRIDES.reduce((out, [pattern, value]) => out.replace(pattern, value), text);
}

/** The longest line of a secret value: a part that shows it wherever it appears in plaintext. */
const telltale = (value: string): string => value.split("\n").reduce((a, b) => (b.length > a.length ? b : a), "");

/** Reads the engine events of an `--event-log` file. */
function events(file: string): EngineEvent[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, "utf8").split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as EngineEvent);
}

/** The resources the engine was asked to register (resourcePreEvent), as `type name`, in order. */
const registered = (file: string): string[] =>
  events(file).flatMap((e) => (e.resourcePreEvent?.metadata?.urn ? [`${e.resourcePreEvent.metadata.type} ${e.resourcePreEvent.metadata.urn.split("::").at(-1)}`] : []));

/** Error diagnostics of an `--event-log` file. */
const errors = (file: string): string[] => events(file).flatMap((e) => (e.diagnosticEvent?.severity === "error" && e.diagnosticEvent.message ? [e.diagnosticEvent.message.trim()] : []));

/** The value a stack file's key holds as the program receives it: strings as they are, the rest JSON. */
function sameValue(cli: string | undefined, file: unknown): boolean {
  if (cli === undefined) return false;
  if (typeof file === "string") return cli === file;
  try {
    return isDeepStrictEqual(JSON.parse(cli), file);
  } catch {
    return false;
  }
}

/**
 * The scenario: the CLI against a copy of the project, per stack file, then the failure modes on
 * staging. Returns what it proved; throws at the first expectation not met.
 */
export async function pulumiCliScenario(bins: Record<string, string>, work: string): Promise<string> {
  const cli = bins.pulumi;
  if (!cli) throw new Error("e2e/build.sh printed no path for pulumi");
  const dir = fs.mkdtempSync(path.join(work, "pulumi-cli-"));
  const copy = path.join(dir, "project");
  copyProject(copy);
  const logDir = path.join(dir, "logs");
  fs.mkdirSync(logDir);
  const env: NodeJS.ProcessEnv = {
    // The project's Node (24) first on PATH, as the language host runs `node`; nothing else of the
    // user's (an installed Pulumi's language host there would change what a plain preview does).
    PATH: [path.dirname(process.execPath), "/usr/bin", "/bin"].join(path.delimiter),
    PULUMI_HOME: path.join(dir, "pulumi-home"),
    PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    // --event-log exists only with this set (pkg/cmd/pulumi/operations/preview.go).
    PULUMI_DEBUG_COMMANDS: "true",
    // e2e override: the passphrase secrets provider (the stack files name none, so the file backend
    // uses it; real stacks use awskms, which needs AWS).
    PULUMI_CONFIG_PASSPHRASE: crypto.randomBytes(16).toString("hex"),
    PULUMI_CONFIG_PASSPHRASE_FILE: "",
    PULUMI_ACCESS_TOKEN: "",
  };
  const pulumi = (args: readonly string[], input?: string): Promise<CommandResult> =>
    run(cli, [...args, "--non-interactive", "--color=never"], { cwd: copy, env, timeoutMs: 180_000, ...(input === undefined ? {} : { input }) });
  const proved: string[] = [];

  const version = (await must(cli, ["version"], { env })).trim();
  expectThat(version === PULUMI_CLI_VERSION, `pulumi version: expected ${PULUMI_CLI_VERSION}`, version);
  fs.mkdirSync(path.join(dir, "state"));

  // The language runtime for `--client` previews, in its own process.
  const recordFile = path.join(dir, "run-request.json");
  const hostName = "pulumi-language-runtime";
  start(hostName, process.execPath, [path.join(ROOT, "tools", "build", "run-ts.mts"), path.join(ROOT, "e2e", "pulumi-cli.ts"), "host", copy, recordFile], { logDir, cwd: ROOT });
  const hostLog = path.join(logDir, `${hostName}.log`);
  const hostPort = await waitFor("the language runtime's port in its log", 120_000, () => {
    const match = /listening on 127\.0\.0\.1:(\d+)/.exec(fs.existsSync(hostLog) ? fs.readFileSync(hostLog, "utf8") : "");
    return Promise.resolve(match ? match[1] : seen(`log so far: ${fs.existsSync(hostLog) ? fs.readFileSync(hostLog, "utf8").slice(-300) : "none"}`));
  });
  let previews = 0;
  const preview = async (stack: string): Promise<{ result: CommandResult; log: string }> => {
    fs.rmSync(recordFile, { force: true });
    const log = path.join(dir, `events-${stack}-${++previews}.json`);
    const result = await pulumi(["preview", "--stack", stack, `--client=127.0.0.1:${hostPort}`, "--exec-kind=auto.inline", "--event-log", log]);
    return { result, log };
  };

  try {
    const secrets = await secretValues();
    const stacks = readEnvironments(ROOT).list.map((e) => e.stack);
    for (const stack of stacks) {
      const stackFile = path.join(copy, `Pulumi.${stack}.yaml`);
      const shipped = fs.readFileSync(stackFile, "utf8");

      // Stack init on the shipped file: the CLI adds the passphrase provider's salt and keeps every key.
      const init = await pulumi(["stack", "init", stack]);
      expectThat(init.code === 0 && output(init).includes(`Created stack '${stack}'`), `pulumi stack init ${stack}: expected "Created stack '${stack}'"`, output(init));
      const initialised = yaml.load(fs.readFileSync(stackFile, "utf8")) as { encryptionsalt?: string; config: Record<string, unknown> };
      expectThat(/^v1:/.test(initialised.encryptionsalt ?? ""), `${stack}: stack init: expected an encryptionsalt written to the stack file`, JSON.stringify(initialised.encryptionsalt));
      expectThat(
        isDeepStrictEqual(Object.keys(initialised.config).sort(), Object.keys((yaml.load(shipped) as { config: object }).config).sort()),
        `${stack}: stack init kept every key of the stack file`, Object.keys(initialised.config).join(","),
      );

      // The shipped `secure: PLACEHOLDER` values cannot be decrypted: the CLI stops before the program.
      const placeholder = await pulumi(["preview", "--stack", stack]);
      expectThat(placeholder.code !== 0 && placeholder.stderr.includes("error: validating stack config: bad value"), `${stack}: preview with secure: PLACEHOLDER: expected "validating stack config: bad value"`, output(placeholder));

      // Store each secret as the README says (`pulumi config set --secret`, value on stdin).
      const secretKeys = loadStackConfig(copy, stack).secretKeys;
      expectThat(secretKeys.length > 0, `${stack}: expected secure keys in the shipped stack file`, secretKeys.join(","));
      for (const key of secretKeys) {
        const value = secrets[key];
        if (value === undefined) throw new Error(`${stack}: no e2e value for the secure key ${key}`);
        const set = await pulumi(["config", "set", "--stack", stack, "--secret", key], value);
        expectThat(set.code === 0, `${stack}: pulumi config set --secret ${key}`, output(set));
      }
      const stored = fs.readFileSync(stackFile, "utf8");
      for (const key of secretKeys) {
        const value = secrets[key] ?? "";
        const entry = (yaml.load(stored) as { config: Record<string, unknown> }).config[key] as { secure?: string } | undefined;
        expectThat(/^v1:/.test(entry?.secure ?? "") && !stored.includes(telltale(value)), `${stack}: ${key} stored as ciphertext only`, JSON.stringify(entry));
      }

      // `pulumi config`: every key of the stack file, namespaced as the program reads it, with the
      // values the offline engine and test/ read from the file; secrets shown as [secret] only.
      const fromFile = loadStackConfig(copy, stack);
      const listed = await pulumi(["config", "--stack", stack, "--json"]);
      expectThat(listed.code === 0, `${stack}: pulumi config --json`, output(listed));
      const cliConfig = JSON.parse(listed.stdout) as Record<string, { value?: string; secret: boolean }>;
      expectThat(isDeepStrictEqual(Object.keys(cliConfig).sort(), Object.keys(fromFile.config).sort()), `${stack}: pulumi config: expected the keys test/ reads`, `${Object.keys(cliConfig).sort().join(",")} vs ${Object.keys(fromFile.config).sort().join(",")}`);
      for (const [key, value] of Object.entries(fromFile.config)) {
        const entry = cliConfig[key];
        if (fromFile.secretKeys.includes(key)) expectThat(entry?.secret === true && entry.value === undefined, `${stack}: pulumi config: ${key} secret, no value`, JSON.stringify(entry));
        else expectThat(entry?.secret === false && sameValue(entry.value, value), `${stack}: pulumi config: ${key} as in the stack file`, `${JSON.stringify(entry)} vs ${JSON.stringify(value)}`);
      }
      const table = await pulumi(["config", "--stack", stack]);
      const plaintextShown = secretKeys.filter((key) => table.stdout.includes(telltale(secrets[key] ?? "")));
      expectThat(table.code === 0 && plaintextShown.length === 0 && /notificationsAppPrivateKey\s+\[secret\]/.test(table.stdout), `${stack}: pulumi config shows secrets as [secret]`, table.stdout);

      // A plain preview needs the Node.js language host binary, which cannot be built here.
      const plain = await pulumi(["preview", "--stack", stack]);
      expectThat(
        plain.code !== 0 && plain.stderr.includes("error: failed to load language plugin nodejs: no language plugin 'pulumi-language-nodejs' found in the workspace or on your $PATH"),
        `${stack}: plain preview: expected the stop at the missing language host`, output(plain),
      );

      // The program under the CLI: the shipped example values are refused by the program itself.
      const examples = await preview(stack);
      expectThat(
        examples.result.code !== 0 && errors(examples.log).some((e) => /^invalid stack config \(\d+ problems\):/.test(e) && e.includes(`${PROJECT}:aws.accountId: `) && e.includes("is an example account id")),
        `${stack}: preview of the shipped values: expected the program's "invalid stack config" naming ${PROJECT}:aws.accountId`, output(examples.result),
      );
      expectThat(isDeepStrictEqual(registered(examples.log), [`pulumi:pulumi:Stack ${PROJECT}-${stack}`]), `${stack}: nothing but the Stack registered before the program's error`, registered(examples.log).join(", "));

      // With the example values overridden, the program validates the config the CLI handed over and
      // declares its resources until the first one that needs a provider plugin.
      fs.writeFileSync(stackFile, overrideExamples(fs.readFileSync(stackFile, "utf8")));
      const valid = await preview(stack);
      // Which provider the engine loads first depends on the program's asynchronous order; each stop
      // must name a provider the project installs, at its installed version.
      const stops = errors(valid.log);
      const stop = /^no resource plugin 'pulumi-resource-([a-z]+)' found in the workspace at version v(\S+) or on your \$PATH$/.exec(stops[0] ?? "");
      expectThat(
        valid.result.code !== 0 && stops.length === 1 && stop !== null && stop[2] === installedVersion(`@pulumi/${stop[1]}`),
        `${stack}: valid preview: expected exactly one error, "no resource plugin 'pulumi-resource-<provider>' found in the workspace at version v<installed @pulumi/<provider>> or on your $PATH"`,
        output(valid.result),
      );
      const leaked = secretKeys.filter((key) => [output(valid.result), fs.readFileSync(valid.log, "utf8")].some((text) => text.includes(telltale(secrets[key] ?? ""))));
      expectThat(leaked.length === 0, `${stack}: valid preview: expected no secret in plaintext in the CLI's output or engine events`, leaked.join(", "));
      const reached = registered(valid.log);
      expectThat(
        reached[0] === `pulumi:pulumi:Stack ${PROJECT}-${stack}` && reached[1] === `gitops-platform:platform:Platform ${stack}` && reached.slice(1).every((r) => r.startsWith("gitops-platform:")),
        `${stack}: valid preview: expected the Stack, the Platform and only components of this project registered (no provider resource reached)`, reached.join(", "),
      );
      // What the CLI handed the program equals what the offline engine and test/ read from the file.
      const request = JSON.parse(fs.readFileSync(recordFile, "utf8")) as RunRecord;
      const expected = loadStackConfig(copy, stack);
      expectThat(request.project === PROJECT && request.stack === stack, `${stack}: RunRequest project/stack`, `${request.project}/${request.stack}`);
      expectThat(isDeepStrictEqual(request.secretKeys, expected.secretKeys), `${stack}: RunRequest secret keys`, `${request.secretKeys.join(",")} vs ${expected.secretKeys.join(",")}`);
      expectThat(isDeepStrictEqual(Object.keys(request.config).sort(), Object.keys(expected.config).sort()), `${stack}: RunRequest keys`, Object.keys(request.config).sort().join(","));
      for (const [key, value] of Object.entries(expected.config)) {
        // A value read from stdin loses one trailing newline unless --raw (pkg/cmd/pulumi/config/config.go, configSetCmd.Run).
        const want = expected.secretKeys.includes(key) ? secrets[key]?.replace(/\r?\n$/, "") : value;
        expectThat(sameValue(request.config[key], want), `${stack}: RunRequest ${key} as in the stack file`, expected.secretKeys.includes(key) ? "(secret differs)" : `${request.config[key]} vs ${JSON.stringify(value)}`);
      }
      proved.push(`${stack}: init, ${secretKeys.length} secret(s) ciphertext only, ${Object.keys(expected.config).length} keys as test/ reads them, program reached ${reached.length} resources then stopped: ${stops[0]}`);
    }

    // Failure modes, on the first environment (staging in the shipped stacks): the CLI's own checks first (no program needed), then the program's.
    const first = stacks[0] ?? "staging";
    const stackFile = path.join(copy, `Pulumi.${first}.yaml`);
    const good = fs.readFileSync(stackFile, "utf8");
    const edit = (change: (config: Record<string, unknown>) => void): void => {
      const doc = yaml.load(good) as { config: Record<string, unknown> };
      change(doc.config);
      fs.writeFileSync(stackFile, yaml.dump(doc));
    };
    try {
      edit((config) => delete config[`${PROJECT}:environment`]);
      const missing = await pulumi(["preview", "--stack", first]);
      expectThat(missing.code !== 0 && missing.stderr.includes(`error: validating stack config: Stack '${first}' is missing configuration value 'environment'`), "missing required key: expected the CLI's error", output(missing));

      edit((config) => (config[`${PROJECT}:production`] = "maybe"));
      const typed = await pulumi(["preview", "--stack", first]);
      expectThat(typed.code !== 0 && typed.stderr.includes(`error: validating stack config: Stack '${first}' with configuration key 'production' must be of type 'boolean'`), "wrong type: expected the CLI's error", output(typed));

      edit((config) => ((config[`${PROJECT}:aws`] as Record<string, unknown>).accountId = "12345"));
      const bad = await preview(first);
      const message = `${PROJECT}:aws.accountId: expected a 12-digit AWS account id as a string`;
      expectThat(bad.result.code !== 0 && errors(bad.log).includes(`invalid stack config (1 problem):\n  - ${message}`), `bad value: expected the program's "${message}"`, output(bad.result));
      expectThat(isDeepStrictEqual(registered(bad.log), [`pulumi:pulumi:Stack ${PROJECT}-${first}`]), "bad value: nothing but the Stack registered", registered(bad.log).join(", "));
      expectThat(!output(bad.result).includes("pulumi-resource-"), "bad value: no provider plugin asked for", output(bad.result));
    } finally {
      fs.writeFileSync(stackFile, good);
    }
    proved.push("missing required key and wrong type refused by the CLI, a bad value by the program before any resource");
  } finally {
    await stop(hostName);
  }
  return `pulumi ${version}: ${proved.join("; ")}`;
}

/** The version of an npm package the project installs (a provider plugin's version the engine asks for). */
function installedVersion(name: string): string {
  return (JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`, { paths: [ROOT] }), "utf8")) as { version: string }).version;
}

// ---------------------------------------------------------------------------------------------
// The language runtime for `pulumi preview --client` (runs in its own process: `main(["host", …])`).

interface GrpcServer {
  addService(service: unknown, implementation: object): void;
  bindAsync(address: string, credentials: unknown, callback: (error: Error | null, port: number) => void): void;
}
interface RunCall {
  readonly request: { getProject(): string; getStack(): string; getConfigMap(): { entries(): Iterable<[string, string]> }; getConfigsecretkeysList(): string[] };
}
type LanguageServerClass = new (program: () => unknown) => { run(call: RunCall, callback: unknown): unknown };

/**
 * Serves @pulumi/pulumi's own inline-program language runtime (as `Stack.preview` does for an
 * inline program: same service, same channel options) on a loopback port and prints the port.
 * The program is `programDir`'s Pulumi.yaml `main`, loaded as the SDK's cmd/run/run.js loads a
 * TypeScript entry: chdir to the project, its ts-node registered with the project's tsconfig,
 * transpile-only when tsconfig sets noCheck; an exported function is called and awaited. Each
 * RunRequest's project, stack, config and secret keys are written to `recordFile` first.
 */
async function host(programDir: string, recordFile: string): Promise<number> {
  // The SDK's own copies of grpc-js and its generated service, so the service definition and the
  // server come from one grpc-js instance.
  const sdk = createRequire(require.resolve("@pulumi/pulumi/automation/stack", { paths: [programDir] }));
  const grpc = sdk("@grpc/grpc-js") as { Server: new (options: object) => GrpcServer; ServerCredentials: { createInsecure(): unknown } };
  const { LanguageServer } = sdk("./server") as { LanguageServer: LanguageServerClass };
  const { LanguageRuntimeService } = sdk("../proto/language_grpc_pb") as { LanguageRuntimeService: unknown };
  const { grpcChannelOptions } = sdk("../runtime/settings") as { grpcChannelOptions: object };
  const tsutils = sdk("../tsutils") as {
    typeScriptRequireStrings(): { tsnodeRequire: string; typescriptRequire: string };
    loadTypeScriptCompilerOptions(file: string): { noCheck?: boolean };
  };

  process.chdir(programDir);
  const project = yaml.load(fs.readFileSync("Pulumi.yaml", "utf8")) as { main?: string };
  const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
  const compilerOptions = tsutils.loadTypeScriptCompilerOptions("tsconfig.json");
  (sdk(tsnodeRequire) as { register(options: object): void }).register({
    compiler: typescriptRequire,
    transpileOnly: compilerOptions.noCheck,
    project: "tsconfig.json",
    skipProject: false,
    compilerOptions: {},
  });
  const entry = path.resolve(programDir, project.main ?? ".");
  const program = (): unknown => {
    const exported = sdk(entry) as unknown;
    return exported instanceof Function ? (exported as () => unknown)() : exported;
  };

  class RecordingLanguageServer extends LanguageServer {
    override run(call: RunCall, callback: unknown): unknown {
      const request = call.request;
      const record: RunRecord = {
        project: request.getProject(),
        stack: request.getStack(),
        config: Object.fromEntries(request.getConfigMap().entries()),
        secretKeys: [...request.getConfigsecretkeysList()].sort(),
      };
      fs.writeFileSync(recordFile, JSON.stringify(record, null, 2));
      return super.run(call, callback);
    }
  }
  const server = new grpc.Server({ ...grpcChannelOptions });
  server.addService(LanguageRuntimeService, new RecordingLanguageServer(program));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  process.stdout.write(`language runtime listening on 127.0.0.1:${port}\n`);
  // Serves until stopped (SIGTERM from the scenario).
  return new Promise<number>(() => undefined);
}

/** `node tools/build/run-ts.mts e2e/pulumi-cli.ts host <programDir> <recordFile>` */
export async function main(argv: string[]): Promise<number> {
  const [mode, programDir, recordFile] = argv;
  if (mode !== "host" || !programDir || !recordFile) {
    process.stderr.write("usage: node tools/build/run-ts.mts e2e/pulumi-cli.ts host <programDir> <recordFile>\n");
    return 2;
  }
  return host(path.resolve(programDir), path.resolve(recordFile));
}
