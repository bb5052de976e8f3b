/**
 * The GitHub provider every GitHub resource of a stack uses: the owner from config, and no token.
 *
 * The token comes only from `GITHUB_TOKEN` in the environment of the process that runs `pulumi`: the
 * deploy job sets it to a GitHub App installation token minted for that run (it expires after an
 * hour), previews and drift checks to a read-only one. No token is taken from stack config, so no
 * long-lived credential sits in config or is copied into state by the program. The provider plugin
 * reads the variable itself: pulumi/pulumi-github `provider/resources.go` (v6.15.0) declares the
 * `token` config's default as the `GITHUB_TOKEN` environment variable, marked secret, as upstream
 * integrations/terraform-provider-github `github/provider.go` does (`EnvDefaultFunc("GITHUB_TOKEN")`).
 */
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";

export interface GithubProviderArgs {
  /** The organisation or user whose repositories the provider manages. */
  readonly owner: string;
}

/** Creates the stack's GitHub provider. Never copies the ambient token into the program's inputs. */
export function createGithubProvider(name: string, args: GithubProviderArgs, opts?: pulumi.CustomResourceOptions): github.Provider {
  // Given no token, the SDK would copy GITHUB_TOKEN into the provider's inputs unmarked (its
  // constructor does `token ?? getEnv("GITHUB_TOKEN")`), and `plan` would print it. A secret
  // undefined value keeps the input empty; the provider plugin then reads GITHUB_TOKEN itself.
  const token = pulumi.secret(pulumi.output(undefined as unknown as string));
  return new github.Provider(name, { owner: args.owner, token }, opts);
}
