// Pulumi.yaml is what a user running `pulumi config` reads: every default it states (`key=value` in a
// description or in the comments of the undeclared keys) and every `default:` the CLI itself applies
// must be the schema's, so a default changed in its one place fails here rather than leaving the
// project file saying the old value.
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";
import { configSchema, withDerivedDefaults } from "../../components/config";
import { at, defaultOf, fullStackConfig } from "../support/config-defaults";

const root = path.resolve(__dirname, "..", "..");

interface Declaration {
  readonly description?: string;
  readonly default?: unknown;
}

function projectFile(): { text: string; config: Record<string, Declaration> } {
  const text = fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8");
  return { text, config: (load(text) as { config: Record<string, Declaration> }).config };
}

/** The documentation of every top-level key: declared keys' descriptions, and the comment entries (`  # key: text`, continued by `  #   text`) of the undeclared ones. */
function documentation(): Record<string, string> {
  const { text, config } = projectFile();
  const docs: Record<string, string> = {};
  for (const [key, declaration] of Object.entries(config)) docs[key] = declaration.description ?? "";
  for (const m of text.matchAll(/^ {2}# ([A-Za-z]+): (\S.*(?:\n {2}# {3}.*)*)/gm)) {
    docs[m[1] as string] = (m[2] as string).replace(/\n {2}# {3}/g, " ");
  }
  return docs;
}

/** Every `key=value` a text states, with the path of the `name {` blocks it sits in; `name [{` opens one too. Code in backticks states nothing. */
export function statedDefaults(text: string): { path: string[]; value: string }[] {
  const found: { path: string[]; value: string }[] = [];
  const open: string[] = [];
  const token = /(\w+) \[?\{|\{|\}|(\w+)=(\[[^\]]*\]|\{\}|[^\s,;)}]*[^\s,;)}.])/g;
  for (const m of text.replace(/`[^`]*`/g, "").matchAll(token)) {
    if (m[1] !== undefined) open.push(m[1]);
    else if (m[0] === "{") open.push("");
    else if (m[0] === "}") open.pop();
    else found.push({ path: [...open.filter((name) => name !== ""), m[2] as string], value: m[3] as string });
  }
  return found;
}

/** A key path of the config with each array entered at its first element (`apps`, `firewall.ingress`). */
function concrete(config: unknown, keyPath: readonly string[]): (string | number)[] {
  const out: (string | number)[] = [];
  for (const key of keyPath) {
    if (Array.isArray(at(config, out))) out.push(0);
    out.push(key);
  }
  return out;
}

describe("Pulumi.yaml: the defaults it states are the schema's", () => {
  // The full staging config, its first app's policy in the pattern form so that order and sort exist.
  const input = (): Record<string, unknown> => {
    const config = fullStackConfig();
    const apps = config.apps as Record<string, Record<string, unknown>>[];
    apps[0]!.imageAutomation = { ...apps[0]!.imageAutomation, policy: { pattern: "^main-(?P<ts>[0-9]+)$", extract: "$ts" } };
    return config;
  };

  it("reads key=value with the blocks it sits in", () => {
    expect(statedDefaults("a=1, b {c=x (or y), d [{e=[p, q]}], f {}} g=clusters/<env>. `h: x=1`")).toEqual([
      { path: ["a"], value: "1" },
      { path: ["b", "c"], value: "x" },
      { path: ["b", "d", "e"], value: "[p, q]" },
      { path: ["g"], value: "clusters/<env>" },
    ]);
  });

  it("finds the stated defaults of every section that has some", () => {
    const docs = documentation();
    const withDefaults = Object.keys(docs).filter((key) => statedDefaults(docs[key] as string).length > 0).sort();
    expect(withDefaults).toEqual(["apps", "appSecrets", "aws", "ci", "firewall", "github", "notifications", "reconciler", "registry", "storage"].sort());
  });

  it("states each default as the schema gives it", () => {
    const config = input();
    const parsed = withDerivedDefaults(configSchema.parse(config));
    const names: Record<string, string> = { env: parsed.environment, version: parsed.reconciler.operator.version };
    const wrong: string[] = [];
    for (const [key, text] of Object.entries(documentation())) {
      for (const stated of statedDefaults(text)) {
        const keyPath = concrete(config, [key, ...stated.path]);
        const value = load(stated.value.replace(/<(\w+)>/g, (all, name: string) => names[name] ?? all));
        const actual = defaultOf(keyPath, config);
        if (JSON.stringify(actual) !== JSON.stringify(value)) {
          wrong.push(`${keyPath.join(".")}: Pulumi.yaml says ${JSON.stringify(value)}, the schema gives ${JSON.stringify(actual)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it("writes no default outside the key=value notation", () => {
    // "default" is only ever the name of a branch (the config repo's default branch) or the namespace.
    const loose = Object.entries(documentation()).flatMap(([key, text]) =>
      [...text.matchAll(/\bdefault\b(?! branch)(?!\/kube)/g)].map((m) => `${key}: ${text.slice(Math.max(0, (m.index ?? 0) - 20), (m.index ?? 0) + 30)}`),
    );
    expect(loose).toEqual([]);
  });
});

describe("Pulumi.yaml: the CLI's `default:` fields", () => {
  it("declares a default exactly for the keys the schema accepts left out, and that default parses as leaving the key out does", () => {
    const config = fullStackConfig();
    const wrong: string[] = [];
    for (const [key, declaration] of Object.entries(projectFile().config)) {
      const absent = defaultOf([key], config);
      if (!("default" in declaration)) {
        // The CLI requires every declared key without a default in every stack file.
        if (absent !== "required") wrong.push(`${key}: the schema accepts it left out, but without a default the CLI requires it`);
        continue;
      }
      const parsed = configSchema.safeParse({ ...config, [key]: declaration.default });
      const given = parsed.success ? at(withDerivedDefaults(parsed.data), [key]) : `invalid: ${parsed.error.message}`;
      if (JSON.stringify(given) !== JSON.stringify(absent)) wrong.push(`${key}: the CLI's default gives ${JSON.stringify(given)}, the schema ${JSON.stringify(absent)}`);
    }
    expect(wrong).toEqual([]);
  });
});
