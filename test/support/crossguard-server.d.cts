import type { PlanResult } from "../../tools/engine";

export interface ServerDiagnostic {
  policyName: string;
  enforcementLevel: string;
  urn?: string;
  message: string;
}

/** Runs the pack in `packDir` with Pulumi's own policy runner and asks its analyzer server about the run. */
export declare function analyzeWithServer(args: {
  packDir: string;
  config: Record<string, unknown>;
  result: PlanResult;
  isUnknown: (value: unknown) => boolean;
}): Promise<ServerDiagnostic[]>;
