/**
 * The release matrix of templates/app-ci.yml, the CI the app repositories copy: one entry per
 * environment, with the Actions variables the program writes into each app repository for it
 * (components/names.ts ciVariableNames). The lines between `# environments: begin release-matrix`
 * and `# environments: end release-matrix` are generated (`npm run environments -- --write`); the
 * rest of the template is not.
 */
import type { Environments } from "../../components/config/environments";
import { ciVariableNames } from "../../components/names";

export const APP_CI_TEMPLATE = "templates/app-ci.yml";
const BEGIN = /^(\s*)# environments: begin release-matrix\s*$/;
const END = /^\s*# environments: end release-matrix\s*$/;

/** The matrix entries of every environment, indented like the begin marker. */
function entries(envs: Environments, indent: string): string[] {
  return envs.list.flatMap((env) => {
    const names = ciVariableNames(env.stack);
    return [
      `${indent}- environment: ${env.stack}`,
      `${indent}  roleArn: \${{ vars.${names.roleArn} }}`,
      `${indent}  repositoryUrl: \${{ vars.${names.ecrRepositoryUrl} }}`,
      `${indent}  region: \${{ vars.${names.region} }}`,
    ];
  });
}

/** The template with its release matrix regenerated; missing or repeated markers are problems. */
export function regenerateAppCi(text: string, envs: Environments): { text: string; problems: string[] } {
  const lines = text.split("\n");
  const begins = lines.flatMap((line, i) => (BEGIN.test(line) ? [i] : []));
  const ends = lines.flatMap((line, i) => (END.test(line) ? [i] : []));
  const begin = begins[0];
  const end = ends[0];
  if (begins.length !== 1 || ends.length !== 1 || begin === undefined || end === undefined || end < begin) {
    return { text, problems: [`${APP_CI_TEMPLATE}: expected one "# environments: begin release-matrix" line, then one "# environments: end release-matrix" line`] };
  }
  const indent = BEGIN.exec(lines[begin] ?? "")?.[1] ?? "";
  return { text: [...lines.slice(0, begin + 1), ...entries(envs, indent), ...lines.slice(end)].join("\n"), problems: [] };
}
