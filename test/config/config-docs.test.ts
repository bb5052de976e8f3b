// Every config key the schema accepts is documented: in Pulumi.yaml's `config:` block (top-level
// keys, with a description, or in its comments for optional keys the CLI must not require) and in the README's config table (every leaf, or an enclosing row).
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";
import { z } from "zod";
import { configSchema, withDerivedDefaults } from "../../components/config";
import { GITHUB_KNOWN_HOSTS } from "../../policies/vocabulary";
import { defaultOf, fullStackConfig } from "../support/config-defaults";

const root = path.resolve(__dirname, "..", "..");

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

/** Key paths of every leaf the schema accepts: `a.b`, arrays of objects as `a[].b`. */
export function leafPaths(schema: JsonSchema, prefix = ""): string[] {
  if (schema.type === "object" && schema.properties) {
    return Object.entries(schema.properties).flatMap(([key, child]) => leafPaths(child, prefix ? `${prefix}.${key}` : key));
  }
  const objects = (schema.anyOf ?? schema.oneOf ?? []).filter((alt) => alt.type === "object" && alt.properties);
  if (objects.length > 0) return [...new Set(objects.flatMap((alt) => leafPaths(alt, prefix)))];
  if (schema.type === "array" && schema.items?.type === "object") return leafPaths(schema.items, `${prefix}[]`);
  return [prefix];
}

const schemaLeaves = leafPaths(z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as JsonSchema);

function readmeRows(): string[] {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
  const table = readme.slice(readme.indexOf("<!-- config-table:start -->"), readme.indexOf("<!-- config-table:end -->"));
  return [...table.matchAll(/^\| `gitops-platform:([^`]+)` \|/gm)].map((m) => m[1] as string);
}

describe("config documentation", () => {
  it("finds the leaves of the schema (the walker itself)", () => {
    expect(schemaLeaves).toContain("firewall.ingress[].cidrs");
    expect(schemaLeaves).toContain("apps[].imageAutomation.policy.semver");
    expect(leafPaths({ type: "object", properties: { a: { type: "array", items: { type: "object", properties: { b: {} } } } } })).toEqual(["a[].b"]);
  });

  it("documents every top-level key in Pulumi.yaml's config block, with a description", () => {
    const text = fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8");
    const project = load(text) as { config: Record<string, { description?: string }> };
    // Optional keys without a default are documented in comments (`  # key: description`), not
    // declared: the CLI requires a value for every declared key without a default.
    const undeclared = [...text.matchAll(/^ {2}# ([A-Za-z]+): (\S.*)$/gm)].map((m) => m[1] as string);
    const topLevel = [...new Set(schemaLeaves.map((leaf) => leaf.split(/[.[]/)[0] as string))].sort();
    expect([...Object.keys(project.config), ...undeclared].sort()).toEqual(topLevel);
    expect(undeclared).toEqual(["notifications", "notificationsAppPrivateKey", "notificationsAlertAddress", "notificationsAlertHmacKey"]);
    for (const key of Object.keys(project.config)) expect(project.config[key]?.description, key).toMatch(/\S/);
  });

  it("documents every key in the README's config table", () => {
    const rows = readmeRows();
    const covered = (leaf: string) => rows.some((row) => leaf === row || leaf.startsWith(`${row}.`) || leaf.startsWith(`${row}[]`));
    expect(schemaLeaves.filter((leaf) => !covered(leaf))).toEqual([]);
    // And no row documents a key the schema does not have.
    const known = (row: string) => schemaLeaves.some((leaf) => leaf === row || leaf.startsWith(`${row}.`) || leaf.startsWith(`${row}[]`));
    expect(rows.filter((row) => !known(row))).toEqual([]);
  });
});

// The README's default column is checked against what the schema gives a key left out of a full
// stack config (the staging stack with alerts), so a default changed in one place fails here.
describe("config documentation: defaults", () => {
  /** A README key path as a path into the config: `apps[].path` → apps, 0, path; `firewall.ingress[]` → firewall, ingress. */
  const pathOf = (row: string): (string | number)[] =>
    row
      .replace(/\[\]$/, "")
      .split(".")
      .flatMap((segment) => (segment.endsWith("[]") ? [segment.slice(0, -2), 0] : [segment]));

  const leaves = (value: unknown): unknown[] =>
    value !== null && typeof value === "object" ? Object.values(value).flatMap(leaves) : [value];

  // Defaults too long for a table cell, said in words there.
  const inWords: Record<string, unknown> = { "github.knownHosts": GITHUB_KNOWN_HOSTS };

  const rows = (): { key: string; cell: string }[] => {
    const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
    const table = readme.slice(readme.indexOf("<!-- config-table:start -->"), readme.indexOf("<!-- config-table:end -->"));
    return [...table.matchAll(/^\| `gitops-platform:([^`]+)` \|(.*)$/gm)].map((m) => {
      const cells = (m[2] as string).split(/(?<!\\)\|/).map((cell) => cell.trim());
      return { key: m[1] as string, cell: cells[1] as string };
    });
  };

  it("finds the rows and leaves a key out the way the check needs", () => {
    expect(rows().length).toBeGreaterThan(60);
    expect(pathOf("apps[].imageAutomation.pushBranch")).toEqual(["apps", 0, "imageAutomation", "pushBranch"]);
    expect(pathOf("firewall.ingress[]")).toEqual(["firewall", "ingress"]);
    expect(defaultOf(["aws", "accountId"])).toBe("required");
    expect(defaultOf(["ci", "defaultBranch"])).toBeUndefined();
    expect(defaultOf(["storage", "protect"])).toBe(false);
  });

  it("states every default the schema gives, and none it does not", () => {
    const config = withDerivedDefaults(configSchema.parse(fullStackConfig()));
    const names: Record<string, string> = { environment: config.environment, "operator.version": config.reconciler.operator.version };
    const wrong: string[] = [];
    for (const { key, cell } of rows()) {
      const actual = defaultOf(pathOf(key));
      const spans = [...cell.matchAll(/`([^`]+)`/g)].map((m) => load((m[1] as string).replace(/<([\w.]+)>/g, (all, name: string) => names[name] ?? all)));
      let stated: unknown;
      if (/^(—|no )/.test(cell)) stated = actual === "required" ? "required" : undefined;
      else if (key in inWords) stated = inWords[key];
      else if (spans.length === 0) stated = `a default in backticks (the cell says ${JSON.stringify(cell)})`;
      else stated = spans.length === 1 ? spans[0] : spans;
      const got = spans.length > 1 && !/^(—|no )/.test(cell) ? leaves(actual) : actual;
      if (JSON.stringify(got) !== JSON.stringify(stated)) wrong.push(`${key}: the README says ${JSON.stringify(stated)}, the schema gives ${JSON.stringify(got)}`);
    }
    expect(wrong).toEqual([]);
  });
});

// A component usable on its own keeps its defaults in an exported `<NAME>_DEFAULTS` constant that the
// schema reads; its Args document each one with `@default`, which must say the same value.
describe("config documentation: component defaults", () => {
  const files = fs
    .readdirSync(path.join(root, "components"), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts") && !file.startsWith(`config${path.sep}`))
    .map((file) => path.join(root, "components", file))
    .filter((file) => /^export const \w+_DEFAULTS = /m.test(fs.readFileSync(file, "utf8")));

  /** The `@default` text of an Args field: the doc comment right above `readonly <key>?:`. */
  function documented(source: string, key: string): string | undefined {
    const lines = source.split("\n");
    const at = lines.findIndex((line) => new RegExp(`^\\s*readonly ${key}\\?:`).test(line));
    if (at < 0) return undefined;
    let start = at - 1;
    while (start >= 0 && !(lines[start] as string).includes("/**")) start--;
    const comment = lines.slice(start, at).join(" ");
    return /@default\s+(.*?)\s*(\*\/|$)/.exec(comment.replace(/\s*\*\s+/g, " "))?.[1];
  }

  const leaves = (value: unknown): string[] => (value !== null && typeof value === "object" ? Object.values(value).flatMap(leaves) : [String(value)]);

  it("finds the components with defaults", () => {
    expect(files.map((file) => path.basename(file)).sort()).toEqual(
      ["app-secrets.ts", "ci-identity.ts", "deploy-key.ts", "flux-operator.ts", "github-wiring.ts", "notifications.ts", "registry.ts", "storage.ts", "webhook-receiver.ts"],
    );
  });

  it("documents each default as the constant has it", async () => {
    const wrong: string[] = [];
    for (const file of files) {
      const source = fs.readFileSync(file, "utf8");
      const module = (await import(file)) as Record<string, unknown>;
      for (const name of [...source.matchAll(/^export const (\w+_DEFAULTS) = /gm)].map((m) => m[1] as string)) {
        for (const [key, value] of Object.entries(module[name] as Record<string, unknown>)) {
          const text = documented(source, key);
          const where = `${path.basename(file)} ${key}`;
          if (text === undefined) {
            wrong.push(`${where}: no @default`);
            continue;
          }
          // A literal (30, false, "ED25519", ["preview"]), or words that name every value in order.
          const literal = /^("[^"]*"|\[.*\]|[\w.-]+)$/.test(text.split(" ")[0] ?? "") ? (text.split(" ")[0] as string) : undefined;
          const said = literal !== undefined && literal.startsWith("[") ? JSON.stringify(JSON.parse(literal)) : literal?.replace(/^"|"$/g, "");
          const ok =
            typeof value === "object" && value !== null
              ? (said !== undefined && said === JSON.stringify(value)) ||
                (text.split(" ")[0] === "GITHUB_KNOWN_HOSTS" && value === GITHUB_KNOWN_HOSTS) ||
                leaves(value).every((leaf, i, all) => text.indexOf(leaf) >= 0 && (i === 0 || text.indexOf(leaf) > text.indexOf(all[i - 1] as string)))
              : said === String(value);
          if (!ok) wrong.push(`${where}: @default ${text}, the constant says ${JSON.stringify(value)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
