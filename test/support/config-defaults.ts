/**
 * What the schema makes of a key a full stack config leaves out: the tests that hold documentation
 * (README's config table, Pulumi.yaml) to the schema's defaults read them from here, never from a copy.
 */
import * as path from "node:path";
import { configSchema, withDerivedDefaults } from "../../components/config";
import { loadStackConfig } from "../../tools/engine";

const root = path.resolve(__dirname, "..", "..");

/** A full stack config: the staging stack with generic-hmac alerts, so every optional section is present. */
export function fullStackConfig(): Record<string, unknown> {
  const loaded = loadStackConfig(root, "staging");
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(loaded.config)) if (key.startsWith("gitops-platform:")) values[key.slice("gitops-platform:".length)] = value;
  const notifications = values.notifications as Record<string, unknown>;
  return { ...values, notifications: { ...notifications, alerts: { type: "generic-hmac" } }, notificationsAlertAddress: "https://hooks.example.com/x", notificationsAlertHmacKey: "k".repeat(32) };
}

/** The value at a key path (`["apps", 0, "path"]`), undefined where a node is missing. */
export const at = (value: unknown, keyPath: readonly (string | number)[]): unknown =>
  keyPath.reduce<unknown>((node, key) => (node === undefined || node === null ? undefined : (node as Record<string | number, unknown>)[key]), value);

/** What the schema makes of the key when `input` (default: {@link fullStackConfig}) leaves it out: its default, undefined, or "required". */
export function defaultOf(keyPath: readonly (string | number)[], input: Record<string, unknown> = fullStackConfig()): unknown {
  const config = structuredClone(input);
  // A parent the stack leaves out leaves the key out with it.
  const parent = at(config, keyPath.slice(0, -1)) as Record<string | number, unknown> | undefined;
  if (parent !== undefined) delete parent[keyPath[keyPath.length - 1] as string | number];
  const result = configSchema.safeParse(config);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => issue.path.join("."));
    if (issues.includes(keyPath.join("."))) return "required";
    throw new Error(`${keyPath.join(".")}: leaving it out broke other keys: ${issues.join(", ")}`);
  }
  return at(withDerivedDefaults(result.data), keyPath);
}
