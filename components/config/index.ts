/**
 * The stack contract: every key of a stack's config, parsed once by one strict zod schema before any
 * resource is declared. Only the composition root reads it; components get their own typed args.
 *
 * - `formats.ts`: value formats (names, refs, paths, CIDRs, ARNs) and their arithmetic
 * - `schema.ts`, `schema-firewall.ts`: the sections, every default written once
 * - `values.ts`: the typed result, the raw input, {@link ConfigError}
 * - `rules.ts`: rules spanning several keys (`go-regexp.ts`: tag patterns as Go reads them)
 * - `parse.ts`: {@link parseConfig}: errors with key paths, secrets redacted
 * - `reader.ts`: {@link readConfig}, the one place Pulumi's config is read
 *
 * A bad config raises a {@link ConfigError} listing every problem, each with its full key path
 * (`gitops-platform:firewall.ingress[1].cidrs[0]`) and what was expected.
 */
export * from "./formats";
export * from "./schema";
export * from "./schema-firewall";
export * from "./values";
export * from "./rules";
export * from "./parse";
export * from "./reader";
