/**
 * templates/app-ci.yml: the CI the app repositories copy, held to the same hardening rules.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { APP_RELEASE_ENVIRONMENT } from "../../components/aws/ci-identity";
import { ciVariableNames } from "../../components/github/github-wiring";
import { appCiRules, auditWorkflow, parseWorkflow, type Step, type Workflow } from "../support/lint/workflow-rules";
import { root } from "../support/workflows";

describe("templates/app-ci.yml, the app repositories' CI", () => {
  const template = () => fs.readFileSync(path.join(root, "templates", "app-ci.yml"), "utf8");
  const variables = { staging: ciVariableNames("staging"), prod: ciVariableNames("prod") };

  it("passes every hardening rule of the project's workflows", () => {
    expect(auditWorkflow(template())).toEqual([]);
  });

  it("pushes only from version tags, in the release environment the app roles trust, with the variables the program writes", () => {
    expect(appCiRules(parseWorkflow(template()), APP_RELEASE_ENVIRONMENT, variables)).toEqual([]);
    expect(variables.staging).toEqual({ roleArn: "AWS_ROLE_ARN_STAGING", ecrRepositoryUrl: "ECR_REPOSITORY_URL_STAGING", region: "AWS_REGION_STAGING" });
  });

  it("catches a release outside the environment, a build with an OIDC token and variables the program does not write", () => {
    const bad = structuredClone(parseWorkflow(template())) as unknown as {
      jobs: Record<string, { environment?: string; permissions: Record<string, string>; strategy: { matrix: { include: Record<string, string>[] } } }>;
    };
    delete bad.jobs.release!.environment;
    bad.jobs.build!.permissions["id-token"] = "write";
    bad.jobs.release!.strategy.matrix.include[0]!.roleArn = "${{ vars.AWS_ROLE_ARN }}";
    expect(appCiRules(bad as unknown as Workflow, APP_RELEASE_ENVIRONMENT, variables)).toEqual([
      "job build: only the release job may request an OIDC token",
      "job release: environment must be release (the OIDC subject the app roles trust)",
      `job release: expected the matrix ${JSON.stringify([
        { environment: "staging", roleArn: "${{ vars.AWS_ROLE_ARN_STAGING }}", repositoryUrl: "${{ vars.ECR_REPOSITORY_URL_STAGING }}", region: "${{ vars.AWS_REGION_STAGING }}" },
        { environment: "prod", roleArn: "${{ vars.AWS_ROLE_ARN_PROD }}", repositoryUrl: "${{ vars.ECR_REPOSITORY_URL_PROD }}", region: "${{ vars.AWS_REGION_PROD }}" },
      ])}`,
    ]);
    // The generic rules catch the rest: a build job with id-token: write has no AWS step.
    expect(auditWorkflow(template().replace("    permissions:\n      contents: read\n    outputs:", "    permissions:\n      contents: read\n      id-token: write\n    outputs:"))).toEqual([
      "job build: id-token: write without an AWS credentials step",
    ]);
  });

  it("builds once and pushes that image's bytes to every environment, checking the digest", () => {
    const wf = parseWorkflow(template());
    expect(wf.jobs?.build?.steps?.map((s) => s.name)).toEqual([
      "Check out",
      "Check the version tag",
      "Build the image",
      "Save the release image as an OCI archive",
      "Keep the release image for the release jobs",
    ]);
    expect(wf.jobs?.release?.steps?.map((s) => s.name)).toEqual([
      "Check the build's output and the variables gitops-platform set",
      "Fetch the release image the build job saved",
      "Assume the app's push role (OIDC)",
      "Push the release image",
    ]);
    const bad = structuredClone(wf) as unknown as { jobs: Record<string, { env: Record<string, string>; steps: Step[] }> };
    const release = bad.jobs.release!;
    release.steps = release.steps.map((s) => (s.name === "Push the release image" ? { ...s, run: "docker build --tag \"$REPOSITORY_URL:$VERSION\" .\ndocker push \"$REPOSITORY_URL:$VERSION\"" } : s));
    release.env.DIGEST = "";
    expect(appCiRules(bad as unknown as Workflow, APP_RELEASE_ENVIRONMENT, variables)).toEqual([
      "jobs: expected exactly one image build, in the job build (found in: build, release)",
      "job release: expected needs: build, the artifact release-image and DIGEST from needs.build.outputs.digest",
      "job release: expected skopeo copy --preserve-digests of the archive, checking the archive's and the pushed digest against DIGEST",
    ]);
    const unchecked = template().replace('if [ "$pushed" != "$DIGEST" ]; then', 'if false; then');
    expect(appCiRules(parseWorkflow(unchecked), APP_RELEASE_ENVIRONMENT, variables)).toEqual([
      "job release: expected skopeo copy --preserve-digests of the archive, checking the archive's and the pushed digest against DIGEST",
    ]);
    const noArtifact = template().replace("name: release-image\n          path: ${{ runner.temp }}", "name: image\n          path: ${{ runner.temp }}");
    expect(appCiRules(parseWorkflow(noArtifact), APP_RELEASE_ENVIRONMENT, variables)).toEqual([
      "job build: expected the release image kept as the artifact release-image, and its digest as the output digest",
    ]);
  });

  it("catches a release on branch pushes", () => {
    const bad = template().replace('tags: ["v*.*.*"]', 'tags: ["*"]').replace("\n    if: github.event_name == 'push' && startsWith(github.ref, 'refs/tags/v')", "\n    if: true");
    expect(appCiRules(parseWorkflow(bad), APP_RELEASE_ENVIRONMENT, variables)).toEqual([
      'on: expected push of tags ["v*.*.*"]',
      "job release: must run only for pushed version tags",
    ]);
  });
});
