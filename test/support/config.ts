// Feeding stack config to parseConfig the way Pulumi hands it to a program, and reading back what
// it refuses: shared by the config tests.
import { ConfigError, parseConfig, type RawConfig } from "../../components/config";

/** Config values as the CLI passes them: strings as they are, everything else JSON-encoded. */
export function encodeConfig(values: Readonly<Record<string, unknown>>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]));
}

/** Every problem parseConfig finds in a config; [] when it accepts it. */
export function configProblems(raw: RawConfig): string[] {
  try {
    parseConfig(raw);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
}
