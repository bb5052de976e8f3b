import { describe, expect, it } from "vitest";
import { sgHygiene, sgNoWorldAdminPorts, sgNoWorldRiskyPorts, sgWorldIngressAllowlist } from "../../policies/aws-network";
import { messages, res, UNKNOWN, unknownNote, violations, withInputs } from "./harness";

const SG = "aws:ec2/securityGroup:SecurityGroup";
const group = res(SG, "entry", { description: "Cluster entry point", vpcId: "vpc-1" });
const https = res(
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  "entry-https",
  { securityGroupId: UNKNOWN, description: "HTTPS from anywhere", ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" },
  { deps: { securityGroupId: [group] } },
);
const egress = res(
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  "entry-egress",
  { securityGroupId: UNKNOWN, description: "HTTPS to the VPC", ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "10.0.0.0/16" },
  { deps: { securityGroupId: [group] } },
);
const ingressRule = (fields: Record<string, unknown>) => withInputs(https, fields);
const legacyRule = (fields: Record<string, unknown>) =>
  res("aws:ec2/securityGroupRule:SecurityGroupRule", "entry-legacy", { type: "ingress", securityGroupId: UNKNOWN, description: "legacy", protocol: "tcp", ...fields }, { deps: { securityGroupId: [group] } });
const inline = (ingress: object[]) => res(SG, "inline", { description: "Inline rules", ingress });

describe("sg-no-world-admin-ports", () => {
  it("passes world-open HTTPS and SSH from a private range", async () => {
    expect(await messages(sgNoWorldAdminPorts, [group, https, ingressRule({ fromPort: 22, toPort: 22, cidrIpv4: "10.0.0.0/8" })])).toEqual([]);
  });

  it("fails SSH open to 0.0.0.0/0 on a separate rule", async () => {
    expect(await messages(sgNoWorldAdminPorts, [ingressRule({ fromPort: 22, toPort: 22 })])).toEqual(["rule lets 0.0.0.0/0 reach port 22 (tcp 22)"]);
  });

  it("counts port ranges that cover an admin port, and IPv6 ::/0", async () => {
    expect(await messages(sgNoWorldAdminPorts, [ingressRule({ fromPort: 1, toPort: 5000, cidrIpv4: undefined, cidrIpv6: "::/0" })])).toEqual([
      "rule lets ::/0 reach ports 22 and 3389 (tcp 1-5000)",
    ]);
  });

  it("counts blocks that add up to the world, and IPv4 written as IPv6, but not private ranges", async () => {
    expect(await messages(sgNoWorldAdminPorts, [ingressRule({ fromPort: 22, toPort: 22, cidrIpv4: "0.0.0.0/1" })])).toEqual(["rule lets 0.0.0.0/1 reach port 22 (tcp 22)"]);
    expect(await messages(sgNoWorldAdminPorts, [ingressRule({ fromPort: 22, toPort: 22, cidrIpv4: undefined, cidrIpv6: "::ffff:0:0/96" })])).toEqual([
      "rule lets ::ffff:0:0/96 reach port 22 (tcp 22)",
    ]);
    expect(await messages(sgNoWorldAdminPorts, [ingressRule({ fromPort: 22, toPort: 22, cidrIpv4: undefined, cidrIpv6: "8000::/1" })])).toEqual([
      "rule lets 8000::/1 reach port 22 (tcp 22)",
    ]);
    expect(
      await messages(sgNoWorldAdminPorts, [
        ingressRule({ fromPort: 22, toPort: 22, cidrIpv4: "10.0.0.0/8" }),
        ingressRule({ fromPort: 22, toPort: 22, cidrIpv4: undefined, cidrIpv6: "fc00::/7" }),
        ingressRule({ fromPort: 22, toPort: 22, cidrIpv4: undefined, cidrIpv6: "::ffff:10.0.0.0/104" }),
      ]),
    ).toEqual([]);
  });

  it("counts all-protocol rules, inline on the group", async () => {
    expect(await messages(sgNoWorldAdminPorts, [inline([{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["10.0.0.0/8", "0.0.0.0/0"], description: "all" }])])).toEqual([
      "ingress[0] lets 0.0.0.0/0 reach ports 22 and 3389 (all protocols)",
    ]);
  });

  it("counts aws.ec2.SecurityGroupRule ingress, not egress", async () => {
    expect(await messages(sgNoWorldAdminPorts, [legacyRule({ fromPort: 3389, toPort: 3389, cidrBlocks: ["0.0.0.0/0"] })])).toEqual([
      "rule lets 0.0.0.0/0 reach port 3389 (tcp 3389)",
    ]);
    expect(await messages(sgNoWorldAdminPorts, [legacyRule({ type: "egress", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] })])).toEqual([]);
  });

  it("counts inline ingress on an adopted default security group", async () => {
    const adopted = res("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default", { vpcId: "vpc-1", ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"], description: "ssh" }] });
    expect(await messages(sgNoWorldAdminPorts, [adopted])).toEqual(["ingress[0] lets 0.0.0.0/0 reach port 22 (tcp 22)"]);
  });

  it("notes a CIDR unknown during preview", async () => {
    const found = await violations(sgNoWorldAdminPorts, [ingressRule({ fromPort: 22, toPort: 22, cidrIpv4: UNKNOWN })]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([["advisory", unknownNote("sg-no-world-admin-ports", "cidrIpv4")]]);
  });
});

describe("sg-no-world-risky-ports", () => {
  it("passes world-open HTTPS", async () => {
    expect(await messages(sgNoWorldRiskyPorts, [group, https])).toEqual([]);
  });

  it("fails world-open PostgreSQL", async () => {
    expect(await messages(sgNoWorldRiskyPorts, [ingressRule({ fromPort: 5432, toPort: 5432 })])).toEqual(["rule lets 0.0.0.0/0 reach port 5432 (tcp 5432)"]);
  });

  it("takes its port list from the config", async () => {
    expect(await messages(sgNoWorldRiskyPorts, [ingressRule({ fromPort: 8080, toPort: 8081 })], { config: { ports: [8080] } })).toEqual([
      "rule lets 0.0.0.0/0 reach port 8080 (tcp 8080-8081)",
    ]);
  });
});

describe("sg-world-ingress-allowlist", () => {
  it("passes world-open 443", async () => {
    expect(await messages(sgWorldIngressAllowlist, [group, https])).toEqual([]);
  });

  it("fails world-open 80", async () => {
    expect(await messages(sgWorldIngressAllowlist, [ingressRule({ fromPort: 80, toPort: 80, cidrIpv4: undefined, cidrIpv6: "::/0" })])).toEqual([
      "rule opens tcp 80 to ::/0; world-open ingress is allowed only on port 443",
    ]);
  });

  it("fails a range that goes beyond the allowed ports", async () => {
    expect(await messages(sgWorldIngressAllowlist, [ingressRule({ fromPort: 443, toPort: 444 })])).toEqual([
      "rule opens tcp 443-444 to 0.0.0.0/0; world-open ingress is allowed only on port 443",
    ]);
  });

  it("passes ports the config allows", async () => {
    expect(await messages(sgWorldIngressAllowlist, [ingressRule({ fromPort: 80, toPort: 80 })], { config: { allowedPorts: [80, 443] } })).toEqual([]);
  });
});

describe("sg-hygiene", () => {
  it("passes described groups and rules declared one way", async () => {
    expect(await messages(sgHygiene, [group, https, egress])).toEqual([]);
  });

  it("fails a group with the SDK's default description", async () => {
    expect(await messages(sgHygiene, [withInputs(group, { description: "Managed by Pulumi" })])).toEqual([
      'security group has no description (the default "Managed by Pulumi" does not count)',
    ]);
  });

  it("fails a rule without a description", async () => {
    expect(await messages(sgHygiene, [group, withInputs(https, { description: undefined })])).toEqual(["security group rule has no description"]);
  });

  it("fails an inline rule without a description on an adopted default group, whose own description AWS sets", async () => {
    const adopted = res("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default", { vpcId: "vpc-1", ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, self: true }] });
    expect(await messages(sgHygiene, [adopted])).toEqual(["ingress[0] has no description"]);
  });

  it("fails an inline rule without a description", async () => {
    expect(await messages(sgHygiene, [inline([{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["10.0.0.0/8"] }])])).toEqual(["ingress[0] has no description"]);
  });

  it("fails a group that mixes inline rules with rule resources", async () => {
    const mixed = withInputs(group, { egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["10.0.0.0/8"], description: "all to the VPC" }] });
    expect(await messages(sgHygiene, [mixed, https, egress])).toEqual([
      "security group mixes inline egress rules with separate rule resources (entry-https, entry-egress); declare its rules one way only",
    ]);
  });
});
