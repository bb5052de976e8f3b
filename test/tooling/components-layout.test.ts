// The program's layout holds by test: only the composition root (index.ts and the Platform's files)
// imports the stack contract (components/config/), and only the contract's reader reads Pulumi's
// config; components take their own argument types.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { configReaders } from "../support/config-readers";

const root = path.resolve(__dirname, "..", "..");

/** Every .ts file under `dir`, relative to `base`, with `/` separators. */
function sources(base: string, dir: string): string[] {
  return fs
    .readdirSync(path.join(base, dir), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => path.posix.join(dir, file.split(path.sep).join("/")))
    .sort();
}

/** The relative modules a file imports or re-exports (static, `require`, dynamic `import()`), resolved to files. */
function importsOf(base: string, file: string): string[] {
  const text = fs.readFileSync(path.join(base, file), "utf8");
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+["']([^"']+)["']/gm),
    ...text.matchAll(/^\s*import\s+["']([^"']+)["']/gm),
    ...text.matchAll(/\b(?:require|import)\(\s*["']([^"']+)["']\s*\)/g),
  ].map((m) => m[1] as string);
  return specifiers
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) => {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
      for (const candidate of [target, `${target}.ts`, `${target}/index.ts`]) {
        if (fs.existsSync(path.join(base, candidate)) && fs.statSync(path.join(base, candidate)).isFile()) return candidate;
      }
      return target;
    });
}

const MAX_LINES = 400;
const SCRIPT_PATTERNS = ["*.ts", "*.mts", "*.cts", "*.cjs", "*.mjs", "*.js"];

/** `file: N lines` for every file git tracks under `base` with a JavaScript or TypeScript extension, over MAX_LINES. */
function longSources(base: string): string[] {
  // Git's pathspec wildcards match across `/`, so `*.ts` finds .ts files in every folder.
  const listed = spawnSync("git", ["ls-files", "-z", "--", ...SCRIPT_PATTERNS], { cwd: base, encoding: "utf8" });
  if (listed.status !== 0) throw new Error(`git ls-files failed in ${base}: ${listed.stderr}`);
  return listed.stdout
    .split("\0")
    .filter((file) => file !== "" && fs.existsSync(path.join(base, file)))
    .map((file) => ({ file, lines: fs.readFileSync(path.join(base, file), "utf8").split("\n").length - 1 }))
    .filter(({ lines }) => lines > MAX_LINES)
    .map(({ file, lines }) => `${file}: ${lines} lines`);
}

const CONTRACT = "components/config/";
/** The composition root: the program and the Platform, which maps the contract onto the components' args. */
const isCompositionRoot = (file: string) => file === "index.ts" || /^components\/platform(\/|[-.])/.test(file);

/** `file imports module` for every import of the contract from outside it and the composition root. */
function contractImports(base: string): string[] {
  const files = [...(fs.existsSync(path.join(base, "index.ts")) ? ["index.ts"] : []), ...sources(base, "components")];
  return files
    .filter((file) => !file.startsWith(CONTRACT) && !isCompositionRoot(file))
    .flatMap((file) => importsOf(base, file).filter((target) => target.startsWith(CONTRACT)).map((target) => `${file} imports ${target}`));
}

describe("components layout", () => {
  it("finds an import of the contract from a component, however it is written", () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "layout-"));
    fs.mkdirSync(path.join(base, "components", "config"), { recursive: true });
    fs.mkdirSync(path.join(base, "components", "aws"), { recursive: true });
    fs.writeFileSync(path.join(base, "components", "config", "index.ts"), "export const x = 1;\n");
    fs.writeFileSync(path.join(base, "components", "config", "schema.ts"), "export const y = 1;\n");
    fs.writeFileSync(path.join(base, "components", "aws", "a.ts"), 'import type { X } from "../config";\n');
    fs.writeFileSync(path.join(base, "components", "aws", "b.ts"), 'export { y } from "../config/schema";\n');
    fs.writeFileSync(path.join(base, "components", "c.ts"), 'const m = require("./config");\n');
    fs.writeFileSync(path.join(base, "components", "platform-wiring.ts"), 'import { x } from "./config";\n');
    expect(contractImports(base)).toEqual([
      "components/aws/a.ts imports components/config/index.ts",
      "components/aws/b.ts imports components/config/schema.ts",
      "components/c.ts imports components/config/index.ts",
    ]);
    fs.rmSync(base, { recursive: true });
  });

  it("has no component importing the stack contract: only the composition root does", () => {
    expect(contractImports(root)).toEqual([]);
    // And the root does import it (the check above is not vacuous).
    expect(importsOf(root, "index.ts")).toContain("components/config/index.ts");
  });

  it("reads Pulumi's config, the stack's identity and the environment only in the contract's reader", () => {
    const files = ["index.ts", ...sources(root, "components")].map((file) => path.join(root, file));
    expect(configReaders(root, files)).toEqual(["components/config/reader.ts: allConfig (@pulumi/pulumi)", "components/config/reader.ts: getStack (@pulumi/pulumi)"]);
  });

  it("finds a read of config, the stack or the environment however it is imported or named", () => {
    // Beside the project's node_modules, so the planted files resolve @pulumi/pulumi as the components do.
    const dir = fs.mkdtempSync(path.join(root, "node_modules", ".config-readers-"));
    try {
      const plant = (file: string, text: string) => fs.writeFileSync(path.join(dir, file), text);
      plant("renamed.ts", 'import { Config as Settings } from "@pulumi/pulumi";\nexport const region = new Settings("aws").get("region");\n');
      plant("namespace.ts", 'import * as p from "@pulumi/pulumi";\nexport const project = p.getProject();\n');
      plant("runtime.ts", 'import { runtime } from "@pulumi/pulumi";\nexport const all = runtime.getConfig("x:y");\n');
      plant("env.ts", 'import { env } from "node:process";\nexport const home = env.HOME;\n');
      plant("computed.ts", 'export const path = process["env"].PATH;\n');
      plant("clean.ts", 'import * as pulumi from "@pulumi/pulumi";\nexport const out = pulumi.output(1);\nexport const environment = { env: 1 }.env;\n');
      const files = ["renamed.ts", "namespace.ts", "runtime.ts", "env.ts", "computed.ts", "clean.ts"].map((file) => path.join(dir, file));
      expect(configReaders(dir, files)).toEqual([
        "computed.ts: process.env",
        "env.ts: process.env",
        "namespace.ts: getProject (@pulumi/pulumi)",
        "renamed.ts: Config (@pulumi/pulumi)",
        "runtime.ts: getConfig (@pulumi/pulumi)",
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("finds every tracked JavaScript or TypeScript file over 400 lines, and nothing else", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "long-sources-"));
    try {
      expect(spawnSync("git", ["init", "-q"], { cwd: dir }).status).toBe(0);
      const lines = (n: number) => "x;\n".repeat(n);
      fs.mkdirSync(path.join(dir, "tools", "deep"), { recursive: true });
      for (const [file, n] of [
        ["tools/deep/big.mts", 401],
        ["big.cjs", 500],
        ["big.js", 401],
        ["big.cts", 401],
        ["big.mjs", 401],
        ["big.ts", 401],
        ["fits.ts", 400],
        ["notes.md", 900],
        ["untracked.ts", 900],
      ] as const) {
        fs.writeFileSync(path.join(dir, file), lines(n));
      }
      const tracked = ["tools/deep/big.mts", "big.cjs", "big.js", "big.cts", "big.mjs", "big.ts", "fits.ts", "notes.md"];
      expect(spawnSync("git", ["add", "--", ...tracked], { cwd: dir }).status).toBe(0);
      expect(longSources(dir).sort()).toEqual([
        "big.cjs: 500 lines",
        "big.cts: 401 lines",
        "big.js: 401 lines",
        "big.mjs: 401 lines",
        "big.ts: 401 lines",
        "tools/deep/big.mts: 401 lines",
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps every tracked JavaScript and TypeScript file of the repository within 400 lines", () => {
    expect(longSources(root)).toEqual([]);
  });


  it("puts each component in the folder its type token names, one per file, each token once", () => {
    const wrong: string[] = [];
    const tokens = new Map<string, string>();
    for (const file of sources(root, "components").filter((f) => !f.startsWith(CONTRACT))) {
      const text = fs.readFileSync(path.join(root, file), "utf8");
      const classes = [...text.matchAll(/\bclass (\w+) extends pulumi\.ComponentResource\b/g)].map((m) => m[1] as string);
      const declared = [...text.matchAll(/"gitops-platform:([a-z0-9]+):([A-Za-z]+)"/g)].map((m) => ({ module: m[1] as string, type: m[2] as string }));
      if (classes.length > 1) wrong.push(`${file}: ${classes.length} components (${classes.join(", ")})`);
      const folder = file.split("/")[1] as string;
      for (const name of classes) {
        const token = declared.find((d) => d.type === name);
        if (token === undefined) wrong.push(`${file}: ${name} has no type token gitops-platform:<module>:${name}`);
        else if (token.module !== folder) wrong.push(`${file}: ${name}'s token names module ${token.module}, the file is in ${folder}/`);
      }
      for (const { module, type } of declared) {
        const previous = tokens.get(`${module}:${type}`);
        if (previous !== undefined) wrong.push(`${file}: gitops-platform:${module}:${type} is already declared in ${previous}`);
        else tokens.set(`${module}:${type}`, file);
      }
    }
    expect(wrong).toEqual([]);
    expect([...tokens.keys()].sort()).toEqual([
      "aws:AppSecrets",
      "aws:CiIdentity",
      "aws:Firewall",
      "aws:ImageReflectorRole",
      "aws:Registry",
      "aws:Storage",
      "github:DeployKey",
      "github:GithubWiring",
      "k8s:AppSource",
      "k8s:DriftReader",
      "k8s:FluxInstance",
      "k8s:FluxNamespace",
      "k8s:FluxNetworkPolicies",
      "k8s:FluxOperator",
      "k8s:ImageAutomation",
      "k8s:Notifications",
      "k8s:Reconciler",
      "k8s:WebhookReceiver",
      "platform:Platform",
    ]);
  });
});
