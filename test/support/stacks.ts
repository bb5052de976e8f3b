// The project's stacks as the stack files name them (components/config/environments.ts), in promotion
// order: tests that hold for every environment iterate these, never a hand-kept list.
import * as path from "node:path";
import { readEnvironments } from "../../components/config/environments";

const root = path.resolve(__dirname, "..", "..");

/** Every environment, in promotion order. */
export const ENVIRONMENTS = readEnvironments(root).list;

/** Every stack name, in promotion order. */
export const STACKS = ENVIRONMENTS.map((env) => env.stack);
