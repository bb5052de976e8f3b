/**
 * Policy tests' harness: recorded resources built by hand (as the offline engine records them)
 * and evaluated through the engine's evaluatePolicies, exactly as `plan` evaluates them.
 */
import type { Policy, PolicyPackConfig } from "@pulumi/policy";
import type { PlanResult, PolicyViolation, RecordedResource } from "../../tools/engine";
import { evaluatePolicies } from "../../tools/engine/policy";
import { UNKNOWN } from "../../tools/engine/values";
import { STAGING_RULESET_INPUTS } from "../support/rulesets";

export { UNKNOWN };

const STACK = "test";
const PROJECT = "gitops-platform";
export const STACK_URN = `urn:pulumi:${STACK}::${PROJECT}::pulumi:pulumi:Stack::${PROJECT}-${STACK}`;

/** Options of a hand-made resource; `deps` lists, per input property, the resources it was computed from. */
export interface ResourceOptions {
  readonly deps?: Record<string, readonly RecordedResource[]>;
  readonly protect?: boolean;
  readonly retainOnDelete?: boolean;
  readonly parent?: RecordedResource;
}

/** A recorded custom resource. */
export function res(type: string, name: string, inputs: Record<string, unknown> = {}, options: ResourceOptions = {}): RecordedResource {
  const propertyDependencies: Record<string, string[]> = {};
  for (const [key, deps] of Object.entries(options.deps ?? {})) propertyDependencies[key] = deps.map((dep) => dep.urn);
  return {
    urn: `urn:pulumi:${STACK}::${PROJECT}::${type}::${name}`,
    type,
    name,
    parent: options.parent?.urn ?? STACK_URN,
    custom: true,
    inputs,
    secretPaths: [],
    protect: options.protect ?? false,
    retainOnDelete: options.retainOnDelete ?? false,
    additionalSecretOutputs: [],
    dependencies: [...new Set(Object.values(propertyDependencies).flat())],
    propertyDependencies,
    deleteBeforeReplace: false,
    replaceOnChanges: [],
    ignoreChanges: [],
  };
}

/** The same resource with some inputs replaced (a shallow merge; `undefined` removes a key). */
export function withInputs(resource: RecordedResource, patch: Record<string, unknown>): RecordedResource {
  const inputs: Record<string, unknown> = { ...resource.inputs };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete inputs[key];
    else inputs[key] = value;
  }
  return { ...resource, inputs };
}

/** A run of these resources (the stack resource first) with these outputs. */
export function plan(resources: readonly RecordedResource[], outputs: Record<string, unknown> = {}): PlanResult {
  const stack: RecordedResource = { ...res("pulumi:pulumi:Stack", `${PROJECT}-${STACK}`), urn: STACK_URN, custom: false };
  delete (stack as { parent?: string }).parent;
  return { project: PROJECT, stack: STACK, preview: true, resources: [stack, ...resources], outputs, outputSecretPaths: [], policyViolations: [] };
}

export interface CheckOptions {
  /** The policy's entry in the pack config (level or `{ enforcementLevel, ...props }`). */
  readonly config?: PolicyPackConfig[string];
  readonly outputs?: Record<string, unknown>;
}

/** Every violation of `policy` over these resources, as the engine reports them. */
export async function violations(policy: Policy, resources: readonly RecordedResource[], options: CheckOptions = {}): Promise<PolicyViolation[]> {
  return evaluatePolicies(plan(resources, options.outputs), [
    { name: PROJECT, version: "0.1.0", policies: [policy], ...(options.config !== undefined ? { config: { [policy.name]: options.config } } : {}) },
  ]);
}

/** The messages of `policy`'s violations over these resources. */
export async function messages(policy: Policy, resources: readonly RecordedResource[], options: CheckOptions = {}): Promise<string[]> {
  return (await violations(policy, resources, options)).map((v) => v.message);
}

/** The note a policy gets when a value it reads is unknown during preview. */
export function unknownNote(policyName: string, path: string): string {
  return `can't run policy '${policyName}' from policy pack '${PROJECT}@v0.1.0' during preview: string value at .${path} can't be known during preview`;
}

/** The note a stack policy gets when values of these resources (`<type> "<name>": <kind> value at .<path>`) are unknown. */
export function stackUnknownNote(policyName: string, ...values: readonly string[]): string {
  return `can't run policy '${policyName}' from policy pack '${PROJECT}@v0.1.0' during preview: ${values.join("; ")} can't be known during preview`;
}

const RULESET = "github:index/repositoryRuleset:RepositoryRuleset";
/** The staging ruleset as GithubWiring declares it. */
export const stagingRuleset = res(RULESET, "staging-branch-ruleset", STAGING_RULESET_INPUTS);

/** The staging ruleset with some of its rules replaced. */
export const withStagingRules = (patch: Record<string, unknown>): RecordedResource =>
  withInputs(stagingRuleset, { rules: { ...(stagingRuleset.inputs.rules as object), ...patch } });
