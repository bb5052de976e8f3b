/**
 * Shared test support for the reconciler components: a program that builds them from a stack's
 * config as the Platform does, and validators for the Kubernetes objects they declare
 * (kubernetes-models for core kinds, the upstream CRD schemas for Flux kinds).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import Ajv, { type ValidateFunction } from "ajv";
import { load } from "js-yaml";
import { readConfig, type PlatformConfig } from "../../components/config";
import { FluxNamespace } from "../../components/k8s/flux-namespace";
import { reconcilerApp, reconcilerArgs } from "../../components/platform/wiring";
import { Reconciler } from "../../components/k8s/reconciler";
import { splitRepository } from "../../policies/vocabulary";
import { loadStackConfig, runProgram, type PlanResult, type RecordedResource } from "../../tools/engine";

export const ROOT = path.resolve(__dirname, "..", "..");
const CRD_DIR = path.join(ROOT, "test", "fixtures", "flux-crds");

/** Fixed stand-ins for the other components' outputs. */
export const ROLE_ARN = "arn:aws:iam::111111111111:role/image-reflector-test";
export const ROLE_NAME = "image-reflector-test";
export const SECURITY_GROUP = "sg-0123456789abcdef0";
export const WAF_ACL = "arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/platform/0123";
export const BUCKET = "platform-staging-state-test";
/** The Flux controllers of an environment that runs image automation, written out once for the tests. */
export const FLUX_COMPONENTS_WITH_IMAGES = [
  "source-controller",
  "kustomize-controller",
  "helm-controller",
  "notification-controller",
  "image-reflector-controller",
  "image-automation-controller",
];
export const secretNameOf = (repo: string) => `flux-${splitRepository(repo).name}`;
export const repositoryOf = (config: PlatformConfig, app: string) => ({
  url: `${config.aws.accountId}.dkr.ecr.${config.region}.amazonaws.com/${config.environment}/${app}`,
  arn: `arn:aws:ecr:${config.region}:${config.aws.accountId}:repository/${config.environment}/${app}`,
});

type Json = Record<string, unknown>;

/** Deep-merges `patch` into `base` (objects merge, everything else replaces; `undefined` deletes). */
export function merge(base: unknown, patch: unknown): unknown {
  if (patch === undefined) return base;
  if (base === null || typeof base !== "object" || Array.isArray(base) || patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Json = { ...(base as Json) };
  for (const [key, value] of Object.entries(patch as Json)) {
    if (value === undefined) delete out[key];
    else out[key] = merge(out[key], value);
  }
  return out;
}

/** The example config of a stack, with `gitops-platform:<key>` values deep-merged from `patch`. */
export function stackConfig(stack: "staging" | "prod", patch: Json = {}): { config: Json; secretKeys: string[] } {
  const loaded = loadStackConfig(ROOT, stack);
  const config: Json = { ...loaded.config };
  for (const [key, value] of Object.entries(patch)) {
    const qualified = key.includes(":") ? key : `gitops-platform:${key}`;
    config[qualified] = merge(config[qualified], value);
  }
  return { config, secretKeys: loaded.secretKeys };
}

/** A webhook section for tests. */
export const WEBHOOK = {
  host: "flux-webhook.staging.example.com",
  certificateArn: "arn:aws:acm:eu-west-1:111111111111:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
};

/** Builds the namespace and the Reconciler from the stack config, as the Platform wires them. */
export function reconcilerProgram(): () => Record<string, unknown> {
  return () => {
    const config = readConfig();
    const provider = new k8s.Provider("k8s", { kubeconfig: "{}" });
    const namespace = new FluxNamespace("flux-namespace", { name: config.reconciler.namespace }, { provider });
    const automated = config.apps.some((app) => app.imageAutomation !== undefined);
    const reconciler = new Reconciler(
      "reconciler",
      reconcilerArgs(config, {
        namespace: namespace.name,
        configRepoSecretName: secretNameOf(config.github.configRepo.repo),
        apps: config.apps.map((app) => reconcilerApp(app, secretNameOf(app.repo), repositoryOf(config, app.name))),
        bucketName: BUCKET,
        ...(automated ? { imageReflectorRole: { arn: ROLE_ARN, name: ROLE_NAME } } : {}),
        ...(config.reconciler.webhook ? { webhookExposure: { securityGroupIds: [SECURITY_GROUP], wafAclArn: WAF_ACL } } : {}),
      }),
      { providers: { kubernetes: provider } },
    );
    return {
      syncName: reconciler.syncName,
      components: reconciler.components,
      pushBranches: reconciler.pushBranches,
      webhookUrl: reconciler.webhookUrl,
    };
  };
}

/** Runs {@link reconcilerProgram} on a stack's example config, patched. */
export function runReconciler(stack: "staging" | "prod", patch: Json = {}, preview = true): Promise<PlanResult> {
  const { config, secretKeys } = stackConfig(stack, patch);
  return runProgram({ stack, config, secretKeys, preview, program: reconcilerProgram() });
}

/** The Flux object of that kind and `metadata.name` (a CustomResource). */
export function fluxObject(result: PlanResult, kind: string, name: string): RecordedResource {
  const found = result.resources.filter(
    (r) => r.type.startsWith("kubernetes:") && r.inputs.kind === kind && (r.inputs.metadata as Json | undefined)?.name === name,
  );
  if (found.length !== 1) {
    const names = result.resources.filter((r) => r.inputs.kind === kind).map((r) => (r.inputs.metadata as Json | undefined)?.name);
    throw new Error(`expected one ${kind} ${name}, found ${found.length}; declared: ${JSON.stringify(names)}`);
  }
  return found[0] as RecordedResource;
}

/** Every recorded Kubernetes object (custom resources with apiVersion and kind). */
export function kubernetesObjects(result: PlanResult): RecordedResource[] {
  return result.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:") && r.type !== "pulumi:providers:kubernetes");
}

const validators = new Map<string, ValidateFunction>();

/** Validates a Flux object against its CRD's openAPIV3Schema; returns ajv's errors as text. */
export function fluxSchemaErrors(object: Json): string[] {
  const kind = String(object.kind);
  let validate = validators.get(kind);
  if (!validate) {
    const file = fs.readdirSync(CRD_DIR).find((f) => {
      if (!f.endsWith(".yaml")) return false;
      const crd = load(fs.readFileSync(path.join(CRD_DIR, f), "utf8")) as { spec: { names: { kind: string } } };
      return crd.spec.names.kind === kind;
    });
    if (!file) throw new Error(`no CRD fixture for ${kind}`);
    const crd = load(fs.readFileSync(path.join(CRD_DIR, file), "utf8")) as {
      spec: { group: string; versions: { name: string; schema: { openAPIV3Schema: Json } }[] };
    };
    const version = crd.spec.versions.find((v) => `${crd.spec.group}/${v.name}` === object.apiVersion);
    if (!version) throw new Error(`${kind}: the CRD serves no ${String(object.apiVersion)}`);
    validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(version.schema.openAPIV3Schema);
    validators.set(kind, validate);
  }
  return validate(object) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ""}`);
}

/** Validates a core object with kubernetes-models; returns the error text, or "" when valid. */
export async function modelErrors(object: Json): Promise<string> {
  const [group, version] = String(object.apiVersion).includes("/") ? String(object.apiVersion).split("/") : ["", String(object.apiVersion)];
  const modulePath = group ? `kubernetes-models/${group}/${version}/${String(object.kind)}` : `kubernetes-models/${version}/${String(object.kind)}`;
  const mod = (await import(modulePath)) as Record<string, new (data: Json) => { validate(): void }>;
  const Model = mod[String(object.kind)];
  if (!Model) throw new Error(`kubernetes-models has no ${String(object.kind)} in ${modulePath}`);
  try {
    new Model(object).validate();
    return "";
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
