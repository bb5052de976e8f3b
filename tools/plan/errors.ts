/**
 * Errors `plan` reports to the user: a message that names the file (and for YAML the line and
 * column) and the exit status. Anything else is a failure of the program being planned.
 */
/** A problem with the user's input; `exitCode` 2 for usage, 1 for config and program errors. */
export class PlanError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
    /** Where in a file, when known (1-based). */
    readonly location?: { readonly file: string; readonly line?: number; readonly column?: number },
  ) {
    super(message);
    this.name = "PlanError";
  }
}
