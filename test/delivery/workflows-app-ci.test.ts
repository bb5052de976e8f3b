/**
 * templates/app-ci.yml, the CI the app repositories copy: held to the same hardening rules, and to
 * what it does on each push and pull request (test/support/behaviour/app-ci.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { APP_RELEASE_ENVIRONMENT } from "../../components/aws/ci-identity";
import { ciVariableNames } from "../../components/github/github-wiring";
import { auditWorkflow, parseWorkflow, type Workflow } from "../../tools/build/workflow-hardening.mts";
import { appCiBehaviour } from "../support/behaviour/app-ci";
import { repoEnvironments } from "../support/behaviour/common";
import { root } from "../support/workflows";

const template = () => fs.readFileSync(path.join(root, "templates", "app-ci.yml"), "utf8");
// Every environment of the stack files, with the variable names the program writes for it.
const variables = Object.fromEntries(repoEnvironments().list.map((e) => [e.stack, ciVariableNames(e.stack)]));
const behaviour = (text: string) => appCiBehaviour(parseWorkflow(text), APP_RELEASE_ENVIRONMENT, variables);
const tagged = (problems: string[]) => problems.filter((p) => p.startsWith("push of tag v1.2.3"));

describe("templates/app-ci.yml, the app repositories' CI", () => {
  it("passes every hardening rule of the project's workflows", () => {
    expect(auditWorkflow(template())).toEqual([]);
  });

  it("pushes only from version tags, in the release environment the app roles trust, with the variables the program writes", () => {
    expect(behaviour(template())).toEqual([]);
    expect(variables.staging).toEqual({ roleArn: "AWS_ROLE_ARN_STAGING", ecrRepositoryUrl: "ECR_REPOSITORY_URL_STAGING", region: "AWS_REGION_STAGING" });
  });

  it("catches a release outside the environment, and variables the program does not write", () => {
    const bad = structuredClone(parseWorkflow(template())) as unknown as {
      jobs: Record<string, { environment?: string; strategy: { matrix: { include: Record<string, string>[] } } }>;
    };
    delete bad.jobs.release?.environment;
    const staging = bad.jobs.release?.strategy.matrix.include[0];
    if (staging) staging.roleArn = "${{ vars.AWS_ROLE_ARN }}";
    expect(tagged(appCiBehaviour(bad as unknown as Workflow, APP_RELEASE_ENVIRONMENT, variables))).toEqual([
      expect.stringMatching(/^push of tag v1\.2\.3: expected a release per environment with the variables gitops-platform writes .*"role":"⟨vars\.AWS_ROLE_ARN⟩"/),
      "push of tag v1.2.3, release staging: must run in the environment release (the OIDC subject the app roles trust), got (none)",
      "push of tag v1.2.3, release prod: must run in the environment release (the OIDC subject the app roles trust), got (none)",
    ]);
    // A build job with an OIDC token: the generic rules catch it too (no AWS step to use it).
    const oidcBuild = template().replace("    permissions:\n      contents: read\n    outputs:", "    permissions:\n      contents: read\n      id-token: write\n    outputs:");
    expect(auditWorkflow(oidcBuild)).toEqual(["job build: id-token: write without an AWS credentials step"]);
    expect(behaviour(oidcBuild)).toEqual([
      "push to main: must not reach AWS (jobs build)",
      "pull request into main: must not reach AWS (jobs build)",
      "fork pull request into main: must not reach AWS (jobs build)",
      // Other tags start no run at all.
      "push of tag v1.2.3: the build job must run without credentials",
    ]);
  });

  it("builds once and pushes that image's bytes to every environment, checking the digest", () => {
    const push = template().indexOf("      - name: Push the release image\n");
    const rebuilt = `${template().slice(0, push)}      - name: Push the release image\n        run: |\n          docker build --tag "$REPOSITORY_URL:$VERSION" .\n          skopeo copy docker-daemon:app "docker://$REPOSITORY_URL:$VERSION"\n`;
    expect(tagged(behaviour(rebuilt))).toEqual(["push of tag v1.2.3: expected exactly one job that builds the image, got build, release, release"]);
    expect(tagged(behaviour(template().replace("DIGEST: ${{ needs.build.outputs.digest }}", 'DIGEST: ""')))).toEqual([
      "push of tag v1.2.3, release staging: must push the build job's image, checked against its output digest",
      "push of tag v1.2.3, release prod: must push the build job's image, checked against its output digest",
    ]);
    // The digest checks are judged by running the step: however the script is written, what it does counts.
    const unchecked = template().replace('if [ "$pushed" != "$DIGEST" ]; then', "if false; then");
    expect(tagged(behaviour(unchecked))).toEqual([
      "push of tag v1.2.3, release staging: the push step must fail when the registry reports another digest than the build's",
      "push of tag v1.2.3, release prod: the push step must fail when the registry reports another digest than the build's",
    ]);
    const unverified = template().replace('if [ "$built" != "$DIGEST" ]; then', "if false; then");
    expect(tagged(behaviour(unverified))).toEqual([
      "push of tag v1.2.3, release staging: the push step must fail without pushing when the archive is not the build's digest",
      "push of tag v1.2.3, release prod: the push step must fail without pushing when the archive is not the build's digest",
    ]);
    // Renamed variables and another comparison keep the same behaviour: nothing to report.
    const rewritten = template().replaceAll("$pushed", "$registry_digest").replace('pushed="$(cat', 'registry_digest="$(cat').replace('if [ "$built" != "$DIGEST" ]; then', 'if ! [[ "$built" == "$DIGEST" ]]; then');
    expect(rewritten).not.toBe(template());
    expect(tagged(behaviour(rewritten))).toEqual([]);
    const notPreserved = template().replace("skopeo copy --preserve-digests ", "skopeo copy ");
    expect(tagged(behaviour(notPreserved))).toEqual([
      "push of tag v1.2.3, release staging: expected skopeo copy --preserve-digests of the archive",
      "push of tag v1.2.3, release prod: expected skopeo copy --preserve-digests of the archive",
    ]);
    const noArtifact = template().replace("name: release-image\n          path: ${{ runner.temp }}/release\n", "name: image\n          path: ${{ runner.temp }}/release\n");
    expect(noArtifact).not.toBe(template());
    expect(tagged(behaviour(noArtifact))).toEqual([
      "push of tag v1.2.3, release staging: must fetch the artifact the build job kept",
      "push of tag v1.2.3, release prod: must fetch the artifact the build job kept",
    ]);
  });

  it("catches a release on branch pushes, pull requests or other tags", () => {
    const bad = template().replace('tags: ["v*.*.*"]', 'tags: ["*"]').replace("\n    if: github.event_name == 'push' && startsWith(github.ref, 'refs/tags/v')", "\n    if: true");
    expect(behaviour(bad)).toEqual([
      "push to main: must not reach AWS (jobs release, release)",
      "pull request into main: must not reach AWS (jobs release, release)",
      "fork pull request into main: must not reach AWS (jobs release, release)",
      "push of tag latest: must not reach AWS (jobs release, release)",
      "push of tag v1.2: must not reach AWS (jobs release, release)",
    ]);
    expect(behaviour(template().replace("\n  pull_request:\n", "\n  pull_request:\n  workflow_run:\n    workflows: [ci]\n"))).toEqual([
      "on: workflow_run starts it too; only push and pull_request may (what else starts it is not checked)",
    ]);
  });
});
