// Every config key the schema accepts is documented: in Pulumi.yaml's `config:` block (top-level
// keys, with a description, or in its comments for optional keys the CLI must not require) and in the README's config table (every leaf, or an enclosing row).
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";
import { z } from "zod";
import { configSchema } from "../../components/config";

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
