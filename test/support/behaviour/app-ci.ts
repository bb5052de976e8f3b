/**
 * templates/app-ci.yml, by what it does: every push and pull request builds without credentials; a
 * pushed version tag builds once and pushes that image's bytes, tagged with the build's version, to
 * each environment's registry, from
 * jobs in the release environment (the OIDC subject the app roles trust), with the role, registry
 * and region of the Actions variables gitops-platform writes.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
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
    if (!push?.commands.some((c) => c.includes("--preserve-digests")) || push.script === undefined) {
      problems.push(`${where}: expected skopeo copy --preserve-digests of the archive`);
      continue;
    }
    problems.push(...pushStepBehaviour(push.script).map((problem) => `${where}: ${problem}`));
  }
  return problems;
}

/**
 * The push step, run by bash as the runner runs it, against stand-ins for skopeo and aws: it must
 * push when the archive and the pushed image are the build's digest, and fail (without pushing, when
 * the archive is another image) when either is not.
 */
function pushStepBehaviour(script: string): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "app-ci-push-"));
  try {
    // skopeo: `inspect --raw` prints the archive's manifest; `copy --digestfile F` writes the digest
    // the registry reports and records the push; login reads the password from stdin (as the real
    // one does: otherwise the pipe into it breaks); logout passes. Shell functions, which the
    // script's subshells and pipelines inherit, rather than files on PATH: an executable written
    // while another test forks can fail to start (ETXTBSY).
    const stubs = `skopeo() {
  case "$1" in
    inspect) printf %s "$STUB_MANIFEST" ;;
    login) cat > /dev/null ;;
    copy) while [ $# -gt 0 ]; do [ "$1" = --digestfile ] && printf %s "$STUB_PUSHED" > "$2"; shift; done; echo copy >> "$STUB_CALLS" ;;
  esac
}
aws() { echo password; }
`;
    const manifest = '{"schemaVersion":2}';
    const digest = `sha256:${createHash("sha256").update(manifest).digest("hex")}`;
    const other = `sha256:${"0".repeat(64)}`;
    let attempts = 0;
    const attempt = (archive: string, pushed: string) => {
      const calls = path.join(dir, `calls-${++attempts}`);
      const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", `${stubs}${script}`], {
        encoding: "utf8",
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          RUNNER_TEMP: dir,
          DIGEST: digest,
          VERSION: "1.2.3",
          REGION: "eu-west-1",
          REPOSITORY_URL: "111111111111.dkr.ecr.eu-west-1.amazonaws.com/staging/orders",
          STUB_MANIFEST: archive,
          STUB_PUSHED: pushed,
          STUB_CALLS: calls,
        },
      });
      return { ok: result.status === 0, pushed: fs.existsSync(calls) };
    };
    const problems: string[] = [];
    const good = attempt(manifest, digest);
    if (!good.ok || !good.pushed) problems.push("the push step must push the archive when it and the pushed image are the build's digest");
    const wrongArchive = attempt('{"schemaVersion":2,"other":true}', digest);
    if (wrongArchive.ok || wrongArchive.pushed) problems.push("the push step must fail without pushing when the archive is not the build's digest");
    if (attempt(manifest, other).ok) problems.push("the push step must fail when the registry reports another digest than the build's");
    return problems;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
