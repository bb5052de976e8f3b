/**
 * What a run of the offline engine returns: the resources the program registered, its outputs and
 * the policy verdicts; and reading a result (finding resources, masking secrets and unknowns).
 */
import { mask } from "./values";
import type { Unexpanded } from "./expand";

/** A resource as the program registered it. */
export interface RecordedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly parent?: string;
  readonly custom: boolean;
  /** Inputs as plain data: secrets unwrapped (see secretPaths), unknown values are {@link UNKNOWN}. */
  readonly inputs: Record<string, unknown>;
  /** Paths of inputs that were secret, e.g. `privateKeyPem`, `stringData.identity`. */
  readonly secretPaths: string[];
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly additionalSecretOutputs: string[];
  readonly dependencies: string[];
  readonly propertyDependencies: Record<string, string[]>;
  readonly provider?: string;
  readonly deleteBeforeReplace: boolean;
  readonly replaceOnChanges: string[];
  readonly ignoreChanges: string[];
  readonly deletedWith?: string;
  /**
   * The inputs again, where a value registration sends whole as unknown had keys the program
   * declared: those keys, each value unknown. Recorded for Kubernetes Secrets, whose SDK wraps
   * `data` and `stringData` in one secret output. Only for showing an object's shape (`--out`);
   * absent when nothing differs from `inputs`.
   */
  readonly layout?: Record<string, unknown>;
}

/** A policy verdict on the run (filled by the policy pack integration). */
export interface PolicyViolation {
  readonly policyPack: string;
  readonly policyName: string;
  readonly enforcementLevel: "mandatory" | "advisory";
  readonly resource?: string;
  readonly type?: string;
  readonly message: string;
}

/** Everything a run declared. */
export interface PlanResult {
  readonly project: string;
  readonly stack: string;
  readonly preview: boolean;
  /** In registration order; the `pulumi:pulumi:Stack` first. */
  readonly resources: RecordedResource[];
  readonly outputs: Record<string, unknown>;
  readonly outputSecretPaths: string[];
  policyViolations: PolicyViolation[];
  /** Components whose objects the engine could not see offline (a file fetched at deploy time). */
  readonly unexpanded?: Unexpanded[];
  /**
   * What the Pulumi SDK logged as warnings and errors during the run (e.g. an undefined stack
   * output), as `pulumi preview` lists them under Diagnostics; absent when none.
   */
  readonly diagnostics?: string[];
}

/** The type token of the root stack resource. */
export const STACK_TYPE = "pulumi:pulumi:Stack";

/** The resource of that type and logical name; throws listing the names of that type that exist. */
export function findResource(result: PlanResult, type: string, name: string): RecordedResource {
  const found = result.resources.find((r) => r.type === type && r.name === name);
  if (found) return found;
  const names = resourcesOfType(result, type).map((r) => r.name);
  throw new Error(`no ${type} named ${JSON.stringify(name)}; declared: ${names.length ? names.join(", ") : "none of that type"}`);
}

/** Every resource of a type, in registration order. */
export function resourcesOfType(result: PlanResult, type: string): RecordedResource[] {
  return result.resources.filter((r) => r.type === type);
}

/** Inputs of a resource as they may be shown: secrets `[secret]`, unknowns `[unknown]`. */
export function maskedInputs(resource: RecordedResource): Record<string, unknown> {
  return mask(resource.inputs, resource.secretPaths) as Record<string, unknown>;
}

/** Stack outputs as they may be shown. */
export function maskedOutputs(result: PlanResult): Record<string, unknown> {
  return mask(result.outputs, result.outputSecretPaths) as Record<string, unknown>;
}
