/**
 * Offline answers to the provider functions (invokes) the program calls.
 *
 * Every answer is fixed, deterministic and visibly offline (`offline` in ids and hosts), derived
 * from the call's own arguments where a real answer would echo them. A call with no entry here is
 * an error naming it: a silent answer would hide a dependency nobody reviewed.
 */

export interface InvokeCall {
  readonly token: string;
  readonly inputs: Record<string, unknown>;
  /** The region of the stack (`aws:region`), for ARNs and hosts. */
  readonly region: string;
}

type Answer = (call: InvokeCall) => Record<string, unknown>;

/** Thrown for an invoke the offline engine has no answer for. */
export class UnansweredInvokeError extends Error {
  /** The SDK reports a failed invoke by this gRPC-style field, not by `message`. */
  readonly details: string;
  constructor(readonly token: string) {
    super(`offline engine: no answer for invoke ${token}; add one to tools/engine/invokes.ts or avoid the call`);
    this.name = "UnansweredInvokeError";
    this.details = this.message;
  }
}

const getCluster: Answer = ({ inputs, region }) => {
  const name = String(inputs.name);
  return {
    id: name,
    name,
    arn: `arn:aws:eks:${region}:000000000000:cluster/${name}`,
    endpoint: `https://${name}.offline.eks.invalid`,
    version: "1.33",
    status: "ACTIVE",
    certificateAuthorities: [{ data: Buffer.from(`offline certificate authority of ${name}`).toString("base64") }],
    identities: [{ oidcs: [{ issuer: `https://oidc.eks.${region}.amazonaws.com/id/OFFLINE0${name.toUpperCase().replace(/[^A-Z0-9]/g, "0")}` }] }],
    vpcConfig: {
      vpcId: "vpc-0ff11e000000000000",
      clusterSecurityGroupId: "sg-0ff11e000000000000",
      subnetIds: ["subnet-0ff11e00000000001", "subnet-0ff11e00000000002"],
      securityGroupIds: [],
      endpointPrivateAccess: true,
      endpointPublicAccess: false,
      publicAccessCidrs: [],
    },
    kubernetesNetworkConfigs: [{ ipFamily: "ipv4", serviceIpv4Cidr: "172.20.0.0/16", serviceIpv6Cidr: "" }],
    accessConfigs: [{ authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: false }],
    tags: {},
  };
};

/** The invokes answered offline, by token. */
export const OFFLINE_INVOKES: Readonly<Record<string, Answer>> = {
  "aws:eks/getCluster:getCluster": getCluster,
};

/** Answers one invoke, or throws {@link UnansweredInvokeError}. */
export function answerInvoke(call: InvokeCall): Record<string, unknown> {
  const answer = OFFLINE_INVOKES[call.token];
  if (!answer) throw new UnansweredInvokeError(call.token);
  return answer(call);
}
