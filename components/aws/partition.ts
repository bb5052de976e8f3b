/** The AWS partition of the ARNs a component builds when it is given none: the commercial one (regions outside China and GovCloud). */
export const DEFAULT_PARTITION = "aws";
