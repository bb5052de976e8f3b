/**
 * The trust policy an IRSA role must carry: one ServiceAccount of the test cluster's OIDC provider,
 * audience pinned. Written out here, not taken from components/aws/web-identity.ts, so a change to
 * the document the component writes fails the tests of every role that uses it.
 */
const ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789";

export function expectedIrsaTrust(namespace: string, serviceAccount: string): object {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: `arn:aws:iam::111111111111:oidc-provider/${ISSUER}` },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            [`${ISSUER}:aud`]: "sts.amazonaws.com",
            [`${ISSUER}:sub`]: `system:serviceaccount:${namespace}:${serviceAccount}`,
          },
        },
      },
    ],
  };
}
