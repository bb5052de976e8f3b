// The one error the delivery commands report as a configuration problem (exit 1, one `::error::`
// annotation per problem) rather than as a crash.

/** A misconfigured repository variable, stack file or input; `problems` lists each one. */
export class DeliveryConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.join("\n"));
    this.name = "DeliveryConfigError";
    this.problems = problems;
  }
}
