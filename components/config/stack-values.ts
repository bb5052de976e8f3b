/** Reading a stack file's config as parsed YAML, before the contract has checked it. */

/** The value at a path of keys in a parsed config section, or undefined where the path leaves the mappings. */
export function at(value: unknown, keys: readonly string[]): unknown {
  let current = value;
  for (const key of keys) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
