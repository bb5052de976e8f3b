/**
 * templates/app-ci.yml, by what it does: every push and pull request builds without credentials; a
 * pushed version tag builds once and pushes that image's bytes, tagged with the build's version, to
 * each environment's registry, from
 * jobs in the release environment (the OIDC subject the app roles trust), with the role, registry
 * and region of the Actions variables gitops-platform writes.
 */
import { commands, type Event, type JobRun } from "../workflow-sim";
import type { Workflow } from "../../../tools/build/workflow-hardening.mts";
import { AWS_CREDENTIALS, actionSteps, describeEvent, otherTriggers, run } from "./common";

export type CiVariables = Readonly<Record<string, { roleArn: string; ecrRepositoryUrl: string; region: string }>>;

const BUILD = /^(docker|buildah|podman)$/;
const isBuild = (c: readonly string[]) => BUILD.test(c[0] ?? "") && (c[1] === "build" || (c[1] === "buildx" && c[2] === "build") || c[1] === "bud");
const oidc = (j: JobRun) => typeof j.permissions === "object" && j.permissions["id-token"] === "write";

/** The problems with the app CI template's behaviour, one message each. */
export function appCiBehaviour(workflow: Workflow, releaseEnvironment: string, variables: CiVariables): string[] {
  const problems: string[] = [...otherTriggers(workflow, ["push", "pull_request"])];
  const quiet: Event[] = [
    { name: "push", branch: "main" },
    { name: "pull_request", base: "main" },
    { name: "pull_request", base: "main", fork: true },
    { name: "push", tag: "latest" },
    { name: "push", tag: "v1.2" },
  ];
  for (const event of quiet) {
    const r = run(workflow, event);
    const at = describeEvent(event);
    const credentialed = r.jobs.filter((j) => oidc(j) || actionSteps(j, AWS_CREDENTIALS).length > 0);
    if (credentialed.length > 0) problems.push(`${at}: must not reach AWS (jobs ${credentialed.map((j) => j.id).join(", ")})`);
  }
  const event: Event = { name: "push", tag: "v1.2.3" };
  const at = describeEvent(event);
  const r = run(workflow, event);
  const builders = r.jobs.filter((j) => commands(j).some(isBuild));
  const build = builders[0];
  if (builders.length !== 1 || !build) return [...problems, `${at}: expected exactly one job that builds the image, got ${builders.map((j) => j.id).join(", ") || "none"}`];
  if (oidc(build) || actionSteps(build, AWS_CREDENTIALS).length > 0) problems.push(`${at}: the build job must run without credentials`);
  const kept = actionSteps(build, "actions/upload-artifact")[0]?.with.name;
  const releases = r.jobs.filter((j) => actionSteps(j, AWS_CREDENTIALS).length > 0);
  const expected = Object.entries(variables).map(([environment, names]) => ({ environment, role: `⟨vars.${names.roleArn}⟩`, url: `docker://⟨vars.${names.ecrRepositoryUrl}⟩:${build.outputs.version ?? "(no version output)"}`, region: `⟨vars.${names.region}⟩` }));
  const got = releases.map((j) => {
    const role = actionSteps(j, AWS_CREDENTIALS)[0];
    const push = commands(j).find((c) => c[0] === "skopeo" && c[1] === "copy");
    return { environment: String(j.matrix.environment), role: role?.with["role-to-assume"], url: push?.at(-1), region: role?.with["aws-region"] };
  });
  if (JSON.stringify(got) !== JSON.stringify(expected)) problems.push(`${at}: expected a release per environment with the variables gitops-platform writes ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
  for (const job of releases) {
    const where = `${at}, release ${String(job.matrix.environment)}`;
    if (job.environment !== releaseEnvironment) problems.push(`${where}: must run in the environment ${releaseEnvironment} (the OIDC subject the app roles trust), got ${job.environment ?? "(none)"}`);
    if (!job.needs.includes(build.id) || job.env.DIGEST !== build.outputs.digest) problems.push(`${where}: must push the build job's image, checked against its output digest`);
    if (actionSteps(job, "actions/download-artifact")[0]?.with.name !== kept || kept === undefined) problems.push(`${where}: must fetch the artifact the build job kept`);
    if (commands(job).some(isBuild)) problems.push(`${where}: must not build an image of its own`);
    const push = job.steps.find((s) => s.commands.some((c) => c[0] === "skopeo" && c[1] === "copy"));
    // The digest checks are shell conditions: the comparisons must be there, on both sides of the copy.
    if (!push?.commands.some((c) => c.includes("--preserve-digests")) || !/"\$pushed" != "\$DIGEST"/.test(push.script ?? "") || !/"\$built" != "\$DIGEST"/.test(push.script ?? "")) {
      problems.push(`${where}: expected skopeo copy --preserve-digests of the archive, checking the archive's and the pushed digest against DIGEST`);
    }
  }
  return problems;
}
