/** Shared inputs of the tools/ci/delivery tests: a run link, repository variables and a preview log. */

/** A workflow run link, as the reports link it. */
export const runUrl = "https://github.com/acme-corp/gitops-platform/actions/runs/42";
/** The UTF-8 size GitHub counts a body's limit in. */
export const bytes = (text: string) => Buffer.byteLength(text, "utf8");

/** The repository variables a staging workflow reads. */
export const STAGING_VARS = {
  PULUMI_BACKEND_URL_STAGING: "s3://acme-gitops-platform-state-staging?region=eu-west-1",
  AWS_PREVIEW_ROLE_ARN_STAGING: "arn:aws:iam::111111111111:role/gitops-platform-preview-staging",
  AWS_DEPLOY_ROLE_ARN: "arn:aws:iam::111111111111:role/gitops-platform-deploy-staging",
};

/** A Pulumi log as the CLI prints it with --color never (abridged). */
export const PREVIEW_LOG = [
  "Previewing update (staging):",
  "     Type                              Name                        Plan",
  " +   pulumi:pulumi:Stack               gitops-platform-staging     create",
  " +   └─ aws:s3:Bucket                  platform-storage            create",
  "",
  "Policies:",
  "    ❌ gitops-platform@v0.1.0 (local: policies)",
  "        - [mandatory]  s3-public-access-block  (aws:s3/bucket:Bucket: platform-storage)",
  "          Buckets must block all public access.",
  "        - [advisory]  sg-descriptions  (aws:ec2/securityGroup:SecurityGroup: platform-firewall)",
  "",
  "Resources:",
  "    + 2 to create",
  "    12 unchanged",
  "",
].join("\n");
