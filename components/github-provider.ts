/**
 * The GitHub provider every GitHub resource of a stack uses, built from config: the owner, and the
 * token from `githubToken` (a secret) or, without it, the ambient `GITHUB_TOKEN` of the process that
 * runs `pulumi`.
 */
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";

export interface GithubProviderArgs {
  /** The organisation or user whose repositories the provider manages. */
  readonly owner: string;
  /**
   * A token with admin rights on those repositories, as a secret.
   * @default the provider plugin reads `GITHUB_TOKEN` from its environment
   */
  readonly token?: pulumi.Input<string>;
}

/** Creates the stack's GitHub provider. Never copies the ambient token into the program's inputs. */
export function createGithubProvider(name: string, args: GithubProviderArgs, opts?: pulumi.CustomResourceOptions): github.Provider {
  // Without a token the SDK would copy GITHUB_TOKEN into the provider's inputs unmarked (its
  // constructor does `token ?? getEnv("GITHUB_TOKEN")`), and `plan` would print it. A secret
  // undefined value keeps the input empty; the provider plugin then reads GITHUB_TOKEN itself.
  const token: pulumi.Input<string> = args.token === undefined ? pulumi.secret(pulumi.output(undefined as unknown as string)) : pulumi.secret(args.token);
  return new github.Provider(name, { owner: args.owner, token }, opts);
}
