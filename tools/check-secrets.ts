/**
 * `npm run check-secrets -- [PATH...]`: refuses any Kubernetes Secret in plaintext under the given
 * paths (default: the config repo's Flux paths, clusters/ and examples/) — the same scan as the
 * policy pack's `flux-secrets-sops-only`. Point it at a `plan --out` directory to check renders
 * (masked `[secret]` values pass) or at an app repository's deploy path.
 * Exit status: 0 clean, 1 plaintext found.
 */
import * as path from "node:path";
import { FLUX_MANIFEST_PATHS, manifestSecretProblems } from "../policies/sops";

export async function main(argv: readonly string[], cwd: string = process.cwd()): Promise<number> {
  const paths = argv.length > 0 ? argv : FLUX_MANIFEST_PATHS;
  const problems = manifestSecretProblems(path.resolve(cwd), paths);
  for (const problem of problems) process.stderr.write(`${problem}\n`);
  if (problems.length === 0) process.stdout.write(`check-secrets: no plaintext Secret in ${paths.join(", ")}\n`);
  return Promise.resolve(problems.length === 0 ? 0 : 1);
}
