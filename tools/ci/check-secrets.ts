/**
 * `npm run check-secrets -- [PATH...]`: refuses any Kubernetes Secret in plaintext under the given
 * paths — the same scan as the policy pack's `flux-secrets-sops-only`. Without paths, it checks
 * what each stack's Flux syncs from this repository (`github.configRepo.path`, default
 * `clusters/<env>`). Point it at a `plan --out` directory to check renders (masked `[secret]`
 * values pass) or at an app repository's deploy path. It also advises marking each SOPS-encrypted
 * Secret `kustomize.toolkit.fluxcd.io/substitute: disabled` (without failing).
 * Exit status: 0 clean, 1 plaintext found (or a path missing), 2 no paths and no stacks to read.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { manifestSecretAdvice, manifestSecretProblems } from "../../policies/sops";
import { parsedStackConfig, stackNames } from "../generate/sops-config";

/** The config repository paths every stack of the project in `rootDir` syncs, sorted. */
export function syncedPathsOfStacks(rootDir: string): string[] {
  const paths = stackNames(rootDir).map((stack) => {
    return parsedStackConfig(rootDir, stack).github.configRepo.path;
  });
  return [...new Set(paths)].sort();
}

export async function main(argv: readonly string[], cwd: string = process.cwd()): Promise<number> {
  const root = path.resolve(cwd);
  if (argv.length === 0 && !fs.existsSync(path.join(root, "Pulumi.yaml"))) {
    process.stderr.write("check-secrets: no Pulumi.yaml here to read the synced paths from; name the paths to check\n");
    return Promise.resolve(2);
  }
  const paths = argv.length > 0 ? argv : syncedPathsOfStacks(root);
  const problems = manifestSecretProblems(root, paths);
  for (const problem of problems) process.stderr.write(`${problem}\n`);
  // Advice does not fail the check: a Kustomization without postBuild substitutes nothing.
  for (const advice of manifestSecretAdvice(root, paths)) process.stderr.write(`advice: ${advice}\n`);
  if (problems.length === 0) process.stdout.write(`check-secrets: no plaintext Secret in ${paths.join(", ")}\n`);
  return Promise.resolve(problems.length === 0 ? 0 : 1);
}
