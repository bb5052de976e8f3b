/**
 * Trust policies for roles assumed with an OIDC token (GitHub Actions, EKS service accounts): one
 * shape for both, so the rules every such trust follows live in one place — the provider named by
 * its ARN, the audience pinned to STS, and an exact subject (StringEquals, never StringLike).
 */

/** The audience AWS STS expects in web-identity tokens. */
export const STS_AUDIENCE = "sts.amazonaws.com";

/** A trust policy for tokens of the OIDC provider `providerArn` (issuer host `issuerHost`) with exactly this subject, or one of these. */
export function webIdentityTrustPolicy(providerArn: string, issuerHost: string, subject: string | readonly string[]): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: providerArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            [`${issuerHost}:aud`]: STS_AUDIENCE,
            [`${issuerHost}:sub`]: subject,
          },
        },
      },
    ],
  });
}
