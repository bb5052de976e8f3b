// The state backend, AWS role, region and GitHub scope a delivery workflow uses for a stack, from
// the repository's variables and the stack's Pulumi.<stack>.yaml.
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import type * as Yaml from "js-yaml";
import { DeliveryConfigError } from "./errors.mts";

const STACK_NAME = /^[a-z][a-z0-9-]{0,39}$/;
const BACKEND_URL = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[A-Za-z0-9._\/-]*)?(\?[A-Za-z0-9._=&-]*)?$/;
const ROLE_ARN = /^arn:aws(-cn|-us-gov)?:iam::(\d{12}):role\/[A-Za-z0-9+=,.@_\/-]{1,512}$/;
const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;

export interface StackSettings {
  /** `s3://<bucket>?region=<region>`, for `pulumi login`. */
  readonly backendUrl: string;
  /** The role the workflow assumes through OIDC. */
  readonly roleArn: string;
  /** `aws:region` of Pulumi.<stack>.yaml. */
  readonly region: string;
  /** `gitops-platform:aws.accountId` of Pulumi.<stack>.yaml. */
  readonly accountId: string;
  /** `gitops-platform:github.owner` of Pulumi.<stack>.yaml. */
  readonly githubOwner: string;
  /** Names of the config repo and the app repos, for a token scoped to exactly them. */
  readonly githubRepositories: string[];
  /** The policy pack config file the stack runs with (its own, else its kind's), relative to the root. */
  readonly policyConfig: string;
}

type Json = Record<string, unknown>;

function object(value: unknown): Json {
  return value !== null && typeof value === "object" ? (value as Json) : {};
}

/** The suffix of a stack's repository variables: `staging` -> `STAGING`, `eu-prod` -> `EU_PROD`. */
function variableSuffix(stack: string): string {
  return stack.toUpperCase().replace(/-/g, "_");
}

interface RoleVariable {
  readonly name: string;
  readonly output: string;
  readonly environment: boolean;
}

/** Where each role's ARN comes from: a repository variable per stack, or the deploy environment's variable. */
const ROLE_VARIABLES: Record<"preview" | "drift" | "deploy", (suffix: string) => RoleVariable> = {
  preview: (suffix) => ({ name: `AWS_PREVIEW_ROLE_ARN_${suffix}`, output: "previewRoleArn", environment: false }),
  drift: (suffix) => ({ name: `AWS_DRIFT_ROLE_ARN_${suffix}`, output: "driftRoleArn", environment: false }),
  deploy: () => ({ name: "AWS_DEPLOY_ROLE_ARN", output: "deployRoleArn", environment: true }),
};

function isRole(role: string | undefined): role is keyof typeof ROLE_VARIABLES {
  return Object.hasOwn(ROLE_VARIABLES, role ?? "");
}

/** Pulumi.<stack>.yaml's `config:`, read with the js-yaml of the checkout being read, or of the tools' own install. */
function readStackConfig(rootDir: string, stackFile: string): Json {
  const require = createRequire(import.meta.url);
  const yaml = require(require.resolve("js-yaml", { paths: [rootDir, import.meta.dirname] })) as typeof Yaml;
  return object(object(yaml.load(fs.readFileSync(stackFile, "utf8"))).config);
}

/**
 * The state backend, AWS role and region a workflow uses for `stack`. Backend URLs, preview and
 * drift roles are repository variables per stack (previews and drift run outside any GitHub
 * environment); the deploy role is a variable of the stack's GitHub environment. Region and account come from
 * Pulumi.<stack>.yaml, and the role must belong to that account, so a variable pasted from the other
 * stack fails here instead of in AWS.
 */
export function stackSettings({ rootDir, stack, role, vars }: { rootDir: string; stack: string | undefined; role: string | undefined; vars: Record<string, string | undefined> }): StackSettings {
  if (stack === undefined || !STACK_NAME.test(stack)) {
    throw new DeliveryConfigError([`stack "${stack}": expected a stack name such as staging or prod`]);
  }
  if (!isRole(role)) {
    throw new DeliveryConfigError([`role "${role}": expected preview, drift or deploy`]);
  }
  const problems: string[] = [];
  const stackFile = path.join(rootDir, `Pulumi.${stack}.yaml`);
  let config: Json = {};
  if (fs.existsSync(stackFile)) {
    config = readStackConfig(rootDir, stackFile);
  } else {
    problems.push(`Pulumi.${stack}.yaml: no such stack config file`);
  }
  const region = config["aws:region"];
  const accountId = object(config["gitops-platform:aws"]).accountId;
  if (fs.existsSync(stackFile)) {
    if (typeof region !== "string" || !REGION.test(region)) {
      problems.push(`Pulumi.${stack}.yaml: aws:region: expected an AWS region such as eu-west-1`);
    }
    if (typeof accountId !== "string" || !/^\d{12}$/.test(accountId)) {
      problems.push(`Pulumi.${stack}.yaml: gitops-platform:aws.accountId: expected a 12-digit account id`);
    }
  }

  const suffix = variableSuffix(stack);
  const backendName = `PULUMI_BACKEND_URL_${suffix}`;
  const variable = ROLE_VARIABLES[role](suffix);
  const roleName = variable.name;
  const roleWhere = variable.environment
    ? `variable ${roleName} of the GitHub environment "${stack}" (stack output ${variable.output} of ${stack})`
    : `repository variable ${roleName} (stack output ${variable.output} of ${stack})`;
  const backendUrl = vars[backendName];
  const roleArn = vars[roleName];

  if (!backendUrl) {
    problems.push(`repository variable ${backendName} is not set: expected s3://<state bucket>?region=<region> (docs/delivery.md)`);
  } else if (!BACKEND_URL.test(backendUrl)) {
    problems.push(`repository variable ${backendName}: "${backendUrl}" is not an S3 backend URL (s3://<state bucket>?region=<region>)`);
  }
  if (!roleArn) {
    problems.push(`${roleWhere} is not set`);
  } else {
    const match = ROLE_ARN.exec(roleArn);
    if (!match) {
      problems.push(`${roleWhere}: "${roleArn}" is not an IAM role ARN`);
    } else if (typeof accountId === "string" && match[2] !== accountId) {
      problems.push(`${roleWhere}: the role is in account ${match[2]}, but stack ${stack} deploys to account ${accountId}`);
    }
  }
  const github = githubScope(stack, config, problems);
  if (problems.length > 0 || !backendUrl || !roleArn || typeof region !== "string" || typeof accountId !== "string") throw new DeliveryConfigError(problems);
  return { backendUrl, roleArn, region, accountId, ...github, policyConfig: policyConfigFile(rootDir, stack, config["gitops-platform:production"] === true) };
}

/**
 * The policy pack config a stack runs with: its own policies/config/<stack>.json, else the levels
 * its kind implies. The same rule as policyConfigFile in components/config/environments.ts.
 */
function policyConfigFile(rootDir: string, stack: string, production: boolean): string {
  const own = `policies/config/${stack}.json`;
  if (fs.existsSync(path.join(rootDir, own))) return own;
  return `policies/config/${production ? "production" : "non-production"}.json`;
}

/**
 * The GitHub owner and the repositories a stack manages (its config repo, then each app's repo), as
 * names for actions/create-github-app-token's `owner` and `repositories`: an App token minted for
 * exactly these and no other repository of the installation.
 */
function githubScope(stack: string, config: Json, problems: string[]): { githubOwner: string; githubRepositories: string[] } {
  const github = object(config["gitops-platform:github"]);
  const owner = github.owner;
  const apps = config["gitops-platform:apps"];
  const repos = [object(github.configRepo).repo, ...(Array.isArray(apps) ? apps : []).map((app) => object(app).repo)];
  if (Object.keys(config).length === 0) return { githubOwner: "", githubRepositories: [] };
  if (typeof owner !== "string" || !/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/.test(owner)) {
    problems.push(`Pulumi.${stack}.yaml: gitops-platform:github.owner: expected a GitHub user or organization name`);
    return { githubOwner: "", githubRepositories: [] };
  }
  const names: string[] = [];
  for (const repo of repos) {
    const match = typeof repo === "string" ? /^([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+)$/.exec(repo) : null;
    if (!match) {
      problems.push(`Pulumi.${stack}.yaml: repository ${JSON.stringify(repo ?? null)}: expected owner/name`);
    } else if (match[1] !== owner) {
      problems.push(`Pulumi.${stack}.yaml: repository ${String(repo)} is not owned by ${owner}: one App installation token covers one owner`);
    } else if (!names.includes(match[2] as string)) {
      names.push(match[2] as string);
    }
  }
  return { githubOwner: owner, githubRepositories: names };
}
