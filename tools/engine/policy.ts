/**
 * Policy packs over an offline run, evaluated as `pulumi preview --policy-pack` evaluates them.
 *
 * - Resource policies get each resource's inputs as `props`, wrapped in @pulumi/policy's
 *   unknown-checking proxy: reading a value that is unknown during preview throws, and the policy
 *   is then reported as an advisory note "can't be known during preview" — never a pass, never a
 *   crash. Stack policies get every resource with its parent, dependencies and property
 *   dependencies resolved to resources; the stack resource's props are the stack outputs.
 * - Enforcement as the CLI reconciles it: the schema defaults of each policy, the pack's initial
 *   config, then `--policy-pack-config` (per-policy level or `{ enforcementLevel, ...props }`, and
 *   `all`), validated against each policy's config schema.
 * - Other packs load from their directory (`plan --policy-pack DIR`, ./policy-pack.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { load as loadYaml } from "js-yaml";
import type {
  EnforcementLevel,
  Policies,
  PolicyPackConfig,
  PolicyResource,
  ReportViolation,
  ResourceValidation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { PlanResult, PolicyViolation, RecordedResource } from "./index";
import { loadPolicyPack, packageVersion, parsePolicyPackConfig, PolicyPackError, reconcile, type LoadedPolicyPack } from "./policy-pack";
import { isUnknown } from "./values";
import { POLICY_PACK_NAME, policies as projectRules } from "../../policies/rules";
import { policyConfigFile } from "../../components/config/environments";

export { loadPolicyPack, parsePolicyPackConfig, PolicyPackError, type LoadedPolicyPack } from "./policy-pack";

const STACK_TYPE = "pulumi:pulumi:Stack";

// @pulumi/policy exports its unknown-checking proxy at run time only (not in its typings).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const proxy = require("@pulumi/policy/proxy") as {
  unknownCheckingProxy<T>(value: T): T;
  UnknownValueError: new (...args: never[]) => Error;
  unknownStringValue: string;
};

/** A pack to evaluate: rules (or a pack directory) and its enforcement config. */
export interface PolicyPackSpec {
  /** The rules, or the directory of a CrossGuard pack (`PulumiPolicy.yaml`, `package.json`, entry). */
  readonly policies: Policies | string;
  /** Pack name. @default the name the pack's entry gives its PolicyPack, else "policy-pack" */
  readonly name?: string;
  /** Pack version. @default the `version` of the pack's package.json, else "0.0.0" */
  readonly version?: string;
  /** Enforcement config in the CLI's `--policy-pack-config` format, or the path of such a JSON file. */
  readonly config?: PolicyPackConfig | string;
}


/**
 * This project's own pack (`<rootDir>/policies`) with the config the stack runs with: its own
 * `policies/config/<stack>.json` if present, else its kind's (components/config/environments.ts). The
 * kind is `production` when given, else `gitops-platform:production` of Pulumi.<stack>.yaml.
 */
export function projectPolicyPack(stack: string, rootDir: string, production?: boolean): PolicyPackSpec {
  const configFile = path.join(rootDir, policyConfigFile(rootDir, stack, production ?? stackIsProduction(rootDir, stack)));
  return {
    name: POLICY_PACK_NAME,
    version: packageVersion(path.join(rootDir, "policies")) ?? "0.0.0",
    policies: projectRules,
    ...(fs.existsSync(configFile) ? { config: configFile } : {}),
  };
}

function stackIsProduction(rootDir: string, stack: string): boolean {
  const file = path.join(rootDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) return false;
  const doc = loadYaml(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  return doc?.config?.["gitops-platform:production"] === true;
}


// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

class NotApplicable extends Error {}

function notApplicable(reason?: string): never {
  throw new NotApplicable(reason ?? "not applicable");
}

function isUnknownValueError(error: unknown): error is Error {
  if (error instanceof proxy.UnknownValueError) return true;
  // A pack with its own copy of @pulumi/policy throws its own class.
  return error instanceof Error && Array.isArray((error as { props?: unknown }).props) && / can't be known during preview$/.test(error.message);
}

/** Recorded values as the analyzer receives them: a fresh copy, unknowns as Pulumi's sentinel. */
function analyzerValue(value: unknown): unknown {
  if (isUnknown(value)) return proxy.unknownStringValue;
  if (Array.isArray(value)) return value.map(analyzerValue);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = analyzerValue(item);
  return out;
}

function propsOf(value: Record<string, unknown>): Record<string, unknown> {
  return proxy.unknownCheckingProxy(analyzerValue(value) as Record<string, unknown>);
}

function typeOf(resourceClass: unknown): string | undefined {
  const token = (resourceClass as { __pulumiType?: unknown } | undefined)?.__pulumiType;
  return typeof token === "string" && token !== "" ? token : undefined;
}

function isTypeOf(type: string, resourceClass: unknown): boolean {
  const token = typeOf(resourceClass);
  if (token) return token === type;
  const isInstance = (resourceClass as { isInstance?: unknown }).isInstance;
  return typeof isInstance === "function" && (isInstance as (o: unknown) => boolean)({ __pulumiType: type }) === true;
}

function optionsOf(resource: RecordedResource) {
  return {
    protect: resource.protect,
    ignoreChanges: [...resource.ignoreChanges],
    ...(resource.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
    aliases: [] as string[],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [...resource.additionalSecretOutputs],
    ...(resource.parent ? { parent: resource.parent } : {}),
    // Not in the analyzer's options (the CLI does not send it); offline runs know it.
    retainOnDelete: resource.retainOnDelete,
  };
}

function providerOf(resource: RecordedResource, byUrn: ReadonlyMap<string, RecordedResource>) {
  if (!resource.provider) return undefined;
  // A provider reference is `<urn>::<id>`.
  const urn = resource.provider.slice(0, resource.provider.lastIndexOf("::"));
  const provider = byUrn.get(urn);
  if (!provider) return undefined;
  return { type: provider.type, props: propsOf(provider.inputs), urn: provider.urn, name: provider.name };
}

function isResourcePolicy(policy: object): policy is ResourceValidationPolicy {
  const validate = (policy as ResourceValidationPolicy).validateResource;
  return typeof validate === "function" || (Array.isArray(validate) && validate.every((v) => typeof v === "function"));
}

function isStackPolicy(policy: object): policy is StackValidationPolicy {
  return typeof (policy as StackValidationPolicy).validateStack === "function";
}

function levelOf(level: EnforcementLevel): "mandatory" | "advisory" | undefined {
  if (level === "disabled") return undefined;
  return level === "advisory" ? "advisory" : "mandatory";
}

/**
 * Evaluates packs over a run, as `pulumi preview --policy-pack` would; returns every violation
 * and every "can't be known during preview" note, sorted (mandatory first, then pack, policy,
 * resource and message). Throws {@link PolicyPackError} for a pack that cannot be loaded or
 * configured, or a policy that fails with an error of its own.
 */
export async function evaluatePolicies(result: PlanResult, packs: readonly PolicyPackSpec[]): Promise<PolicyViolation[]> {
  const violations: PolicyViolation[] = [];
  const byUrn = new Map(result.resources.map((resource) => [resource.urn, resource]));
  for (const spec of packs) {
    const loaded: LoadedPolicyPack =
      typeof spec.policies === "string"
        ? loadPolicyPack(spec.policies)
        : { name: spec.name ?? "policy-pack", version: spec.version ?? "0.0.0", policies: spec.policies, enforcementLevel: "advisory" };
    const pack: LoadedPolicyPack = { ...loaded, name: spec.name ?? loaded.name, version: spec.version ?? loaded.version };
    const settings = reconcile(pack, spec.config === undefined ? undefined : parsePolicyPackConfig(spec.config));
    const packLabel = `'${pack.name}@v${pack.version}'`;

    const record = (policyName: string, level: "mandatory" | "advisory", urn: string | undefined, message: string) => {
      const type = urn === undefined ? undefined : byUrn.get(urn)?.type;
      violations.push({
        policyPack: pack.name,
        policyName,
        enforcementLevel: level,
        ...(urn !== undefined ? { resource: urn } : {}),
        ...(type !== undefined ? { type } : {}),
        message,
      });
    };
    const reporter = (policyName: string, level: "mandatory" | "advisory", fixedUrn?: string): ReportViolation => {
      return (message: unknown, urn?: string) => {
        if (message !== null && typeof message === "object") {
          // The object form of reportViolation (name, message, urn, enforcementLevel).
          const info = message as { name?: string; message?: string; description?: string; urn?: string; enforcementLevel?: EnforcementLevel };
          const infoLevel = info.enforcementLevel ? levelOf(info.enforcementLevel) : level;
          record(info.name ?? policyName, infoLevel ?? level, fixedUrn ?? info.urn, info.message ?? info.description ?? "");
        } else {
          record(policyName, level, fixedUrn ?? urn, typeof message === "string" ? message : "");
        }
      };
    };
    const handle = (policyName: string, error: unknown, urn: string | undefined) => {
      const from = `policy '${policyName}' from policy pack ${packLabel}`;
      if (isUnknownValueError(error)) {
        record(policyName, "advisory", urn, `can't run ${from} during preview: ${error.message}`);
      } else if (!(error instanceof NotApplicable)) {
        throw new PolicyPackError(`Error validating ${urn ? `resource ${urn}` : "stack"} with ${from}: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
    const getConfig = (name: string) => () => structuredClone(settings.get(name)?.properties ?? {}) as never;

    // Resource policies: each resource on its own, with its inputs. A resource's view (props,
    // options, provider) is built once and shared by every policy, as the analyzer does.
    const views = new Map<string, { props: Record<string, unknown>; opts: ReturnType<typeof optionsOf>; provider: ReturnType<typeof providerOf> }>();
    const viewOf = (resource: RecordedResource) => {
      let view = views.get(resource.urn);
      if (!view) {
        view = { props: propsOf(resource.inputs), opts: optionsOf(resource), provider: providerOf(resource, byUrn) };
        views.set(resource.urn, view);
      }
      return view;
    };
    for (const resource of result.resources) {
      for (const policy of pack.policies) {
        const level = levelOf(settings.get(policy.name)?.level ?? "advisory");
        if (!level || !isResourcePolicy(policy) || !policy.validateResource) continue;
        const validations: ResourceValidation[] = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
        if (validations.length === 1 && typeOf(validations[0]) !== undefined && typeOf(validations[0]) !== resource.type) continue;
        for (const validation of validations) {
          const { props, opts, provider } = viewOf(resource);
          const args: ResourceValidationArgs = {
            type: resource.type,
            props,
            urn: resource.urn,
            name: resource.name,
            opts,
            ...(provider ? { provider } : {}),
            stackTags: new Map<string, string>(),
            isType: (cls) => isTypeOf(resource.type, cls),
            asType: ((cls: unknown) => (isTypeOf(resource.type, cls) ? props : undefined)) as ResourceValidationArgs["asType"],
            getConfig: getConfig(policy.name),
            notApplicable,
          };
          try {
            await validation(args, reporter(policy.name, level, resource.urn));
          } catch (error) {
            handle(policy.name, error, resource.urn);
          }
        }
      }
    }

    // Stack policies: every resource, joined by parent and dependencies; the stack's props are its
    // outputs. One set of views for every stack policy of the pack, as the analyzer sends one request.
    let stackViews: PolicyResource[] | undefined;
    for (const policy of pack.policies) {
      const level = levelOf(settings.get(policy.name)?.level ?? "advisory");
      if (!level || !isStackPolicy(policy)) continue;
      const token = typeOf(policy.validateStack);
      if (token !== undefined && !result.resources.some((resource) => resource.type === token)) continue;
      const resources = (stackViews ??= stackResources(result, byUrn));
      const args: StackValidationArgs = {
        resources,
        stackTags: new Map<string, string>(),
        getConfig: getConfig(policy.name),
        notApplicable,
      };
      try {
        await policy.validateStack(args, reporter(policy.name, level));
      } catch (error) {
        handle(policy.name, error, undefined);
      }
    }
  }
  return violations.sort(compareViolations);
}

function stackResources(result: PlanResult, byUrn: ReadonlyMap<string, RecordedResource>): PolicyResource[] {
  const views = new Map<string, PolicyResource>();
  for (const resource of result.resources) {
    const props = propsOf(resource.type === STACK_TYPE ? result.outputs : resource.inputs);
    const provider = providerOf(resource, byUrn);
    views.set(resource.urn, {
      type: resource.type,
      props,
      urn: resource.urn,
      name: resource.name,
      opts: optionsOf(resource),
      ...(provider ? { provider } : {}),
      dependencies: [],
      propertyDependencies: {},
      isType: (cls) => isTypeOf(resource.type, cls),
      asType: ((cls: unknown) => (isTypeOf(resource.type, cls) ? props : undefined)) as PolicyResource["asType"],
    });
  }
  const resolve = (urns: readonly string[]) => urns.map((urn) => views.get(urn)).filter((view): view is PolicyResource => view !== undefined);
  for (const resource of result.resources) {
    const view = views.get(resource.urn) as PolicyResource;
    const parent = resource.parent ? views.get(resource.parent) : undefined;
    if (parent) view.parent = parent;
    view.dependencies = resolve(resource.dependencies);
    for (const [key, urns] of Object.entries(resource.propertyDependencies)) view.propertyDependencies[key] = resolve(urns);
  }
  return [...views.values()];
}

const LEVEL_ORDER = { mandatory: 0, advisory: 1 } as const;

// Code-unit order, not locale order: the same run sorts the same way on every machine.
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function compareViolations(a: PolicyViolation, b: PolicyViolation): number {
  return (
    LEVEL_ORDER[a.enforcementLevel] - LEVEL_ORDER[b.enforcementLevel] ||
    byText(a.policyPack, b.policyPack) ||
    byText(a.policyName, b.policyName) ||
    byText(a.resource ?? "", b.resource ?? "") ||
    byText(a.message, b.message)
  );
}
