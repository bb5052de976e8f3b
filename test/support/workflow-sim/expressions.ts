/**
 * GitHub's expressions for the workflow simulator: contexts as @actions/expressions data, the status
 * functions, `${{ }}` interpolation and `if:` conditions. What only a run knows is a symbol naming
 * its source (see {@link unknown}).
 */
import { Evaluator, Lexer, Parser, data } from "@actions/expressions";
import type { FunctionDefinition } from "@actions/expressions/funcs/info";
import type { Job } from "../../../tools/build/workflow-hardening.mts";

export type Functions = Map<string, FunctionDefinition>;

/** The symbol a value only a run knows stands for. */
export const unknown = (source: string): string => `⟨${source}⟩`;

/** A dictionary whose every key is a value only a run knows. */
export class Unknowns extends data.Dictionary {
  constructor(private readonly source: string) {
    super();
  }
  override get(key: string): data.ExpressionData {
    return super.get(key) ?? new data.StringData(unknown(`${this.source}.${key}`));
  }
}

/** The `steps` context: each step with an id succeeded, and its outputs are only known to the run. */
export function stepsContext(definition: Job): data.Dictionary {
  const d = new data.Dictionary();
  for (const step of definition.steps ?? []) {
    if (step.id === undefined) continue;
    const entry = dictionary({ outcome: "success", conclusion: "success" });
    entry.add("outputs", new Unknowns(`steps.${step.id}.outputs`));
    d.add(step.id, entry);
  }
  return d;
}

export function toData(value: unknown): data.ExpressionData {
  if (value instanceof data.Dictionary || value instanceof data.Array || value instanceof data.StringData) return value;
  return JSON.parse(JSON.stringify(value ?? null), data.reviver) as data.ExpressionData;
}

export function dictionary(entries: Record<string, unknown>): data.Dictionary {
  const d = new data.Dictionary();
  for (const [key, value] of Object.entries(entries)) d.add(key, toData(value));
  return d;
}

function plain(value: data.ExpressionData): unknown {
  return JSON.parse(JSON.stringify(value, data.replacer));
}

export function statusFunctions(status: { success: boolean; failure: boolean }): Functions {
  const fn = (name: string, result: boolean): [string, FunctionDefinition] => [name, { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(result) }];
  return new Map([fn("success", status.success), fn("failure", status.failure), fn("always", true), fn("cancelled", false)]);
}

// Function names are case-insensitive (the evaluator lowercases them): `Always()` is a status check too.
const STATUS = /\b(success|failure|always|cancelled)\s*\(\s*\)/i;
const CONTEXTS = ["github", "env", "vars", "secrets", "inputs", "needs", "matrix", "steps", "job", "runner", "strategy"];

function evaluate(expression: string, context: data.Dictionary, functions: Functions): data.ExpressionData {
  const tokens = new Lexer(expression).lex().tokens;
  const parsed = new Parser(tokens, CONTEXTS, [...functions.values()]).parse();
  return new Evaluator(parsed, context, functions).evaluate();
}

function truthy(value: data.ExpressionData): boolean {
  switch (value.kind) {
    case data.Kind.Boolean:
      return (value).value;
    case data.Kind.Null:
      return false;
    case data.Kind.Number:
      return value.number() !== 0;
    case data.Kind.String:
      return value.coerceString() !== "";
    default:
      return true;
  }
}

/** A string with its `${{ }}` evaluated; a value that is only one expression keeps its type. */
export function interpolate(value: unknown, context: data.Dictionary, functions: Functions): unknown {
  if (typeof value !== "string") return value;
  const whole = /^\$\{\{([\s\S]*?)\}\}$/.exec(value.trim());
  if (whole && !whole[1]?.includes("}}")) return plain(evaluate(whole[1] ?? "", context, functions));
  return value.replace(/\$\{\{([\s\S]*?)\}\}/g, (_m, expression: string) => evaluate(expression, context, functions).coerceString());
}

/** Every string in a value (a matrix: axes, lists, `include` entries) interpolated. */
export function deepInterpolate(value: unknown, context: data.Dictionary, functions: Functions): unknown {
  if (Array.isArray(value)) return value.map((v: unknown) => deepInterpolate(v, context, functions));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deepInterpolate(v, context, functions)]));
  return interpolate(value, context, functions);
}

/** As a value lands in an env variable or an input: null is empty, anything else its JSON. */
function text(value: unknown): string {
  return typeof value === "string" ? value : value === null ? "" : JSON.stringify(value);
}

export function interpolateAll(values: Record<string, unknown> | undefined, context: data.Dictionary, functions: Functions): Record<string, string> {
  return Object.fromEntries(Object.entries(values ?? {}).map(([k, v]) => [k, text(interpolate(v, context, functions))]));
}

/** An `if:` (with or without `${{ }}`), evaluated. */
export function condition(value: unknown, fallback: string, context: data.Dictionary, functions: Functions): boolean {
  if (typeof value === "boolean") return value;
  const raw = typeof value === "string" ? value.trim() : fallback;
  const expression = /^\$\{\{([\s\S]*)\}\}$/.exec(raw)?.[1] ?? raw;
  const withStatus = STATUS.test(expression) ? expression : `success() && (${expression})`;
  return truthy(evaluate(withStatus, context, functions));
}
