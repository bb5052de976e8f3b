import { describe, expect, it } from "vitest";
import { sgHygiene, sgNoWorldAdminPorts, sgNoWorldRiskyPorts, sgWorldIngressAllowlist } from "../../policies/aws-network";
import { messages, res, stackUnknownNote, UNKNOWN, violations, withInputs } from "./harness";

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
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([
      ["advisory", stackUnknownNote("sg-no-world-admin-ports", 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule "entry-https": string value at .cidrIpv4')],
    ]);
  });
});

describe("security group sources given as managed prefix lists", () => {
  const office = res("aws:ec2/managedPrefixList:ManagedPrefixList", "office", {
    name: "office",
    addressFamily: "IPv4",
    maxEntries: 5,
    entries: [{ cidr: "203.0.113.0/24", description: "office" }],
  });
  const worldEntry = res("aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry", "office-world", { prefixListId: UNKNOWN, cidr: "0.0.0.0/0" }, { deps: { prefixListId: [office] } });
  const sshFrom = (...lists: ReturnType<typeof res>[]) =>
    res(
      "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
      "ssh",
      { securityGroupId: UNKNOWN, description: "SSH", ipProtocol: "tcp", fromPort: 22, toPort: 22, prefixListId: UNKNOWN },
      { deps: { securityGroupId: [group], prefixListId: lists } },
    );

  it("passes a declared prefix list of private and office blocks", async () => {
    expect(await violations(sgNoWorldAdminPorts, [office, sshFrom(office)])).toEqual([]);
  });

  it("fails a declared prefix list with a world-open entry resource, at first preview and once IDs are known", async () => {
    expect(await messages(sgNoWorldAdminPorts, [office, worldEntry, sshFrom(office)])).toEqual(['rule lets 0.0.0.0/0 (from prefix list "office") reach port 22 (tcp 22)']);
    const known = withInputs(sshFrom(office), { prefixListId: "pl-0123456789abcdef0" });
    expect(await messages(sgNoWorldAdminPorts, [withInputs(office, { entries: [{ cidr: "::/0" }] }), known])).toEqual([
      'rule lets ::/0 (from prefix list "office") reach port 22 (tcp 22)',
    ]);
  });

  it("resolves prefix lists of inline rules and legacy rules, for every port rule", async () => {
    const open = withInputs(office, { entries: [{ cidr: "0.0.0.0/0" }] });
    const legacy = res(
      "aws:ec2/securityGroupRule:SecurityGroupRule",
      "legacy",
      { type: "ingress", securityGroupId: "sg-1", description: "db", protocol: "tcp", fromPort: 5432, toPort: 5432, prefixListIds: [UNKNOWN] },
      { deps: { prefixListIds: [open] } },
    );
    const withInline = res(SG, "inline", { description: "x", ingress: [{ description: "web", protocol: "tcp", fromPort: 8080, toPort: 8080, prefixListIds: [UNKNOWN] }] }, { deps: { ingress: [open] } });
    expect(await messages(sgNoWorldRiskyPorts, [open, legacy])).toEqual(['rule lets 0.0.0.0/0 (from prefix list "office") reach port 5432 (tcp 5432)']);
    expect(await messages(sgWorldIngressAllowlist, [open, withInline])).toEqual([
      'ingress[0] opens tcp 8080 to 0.0.0.0/0 (from prefix list "office"); world-open ingress is allowed only on port 443',
    ]);
  });

  it("notes a prefix list the stack does not declare, on the rule, instead of passing it", async () => {
    const managed = withInputs(sshFrom(), { prefixListId: "pl-0cloudfront000000" });
    const found = await violations(sgNoWorldAdminPorts, [managed]);
    expect(found.map((v) => [v.enforcementLevel, v.resource, v.message])).toEqual([
      [
        "advisory",
        managed.urn,
        'rule takes sources from prefix list "pl-0cloudfront000000", which this stack does not declare; its entries cannot be checked, so make sure none is open to the world',
      ],
    ]);
  });

  it("notes an undeclared prefix list next to a declared one in a group's inline rules, at first preview and once IDs are known", async () => {
    const rules = (declaredId: unknown) => [
      { description: "office", protocol: "tcp", fromPort: 443, toPort: 443, prefixListIds: [declaredId] },
      { description: "cdn", protocol: "tcp", fromPort: 443, toPort: 443, prefixListIds: ["pl-0cloudfront000000"] },
    ];
    const group = (declaredId: unknown) => res(SG, "mixed", { description: "x", ingress: rules(declaredId) }, { deps: { ingress: [office] } });
    const preview = await violations(sgNoWorldAdminPorts, [office, group(UNKNOWN)]);
    expect(preview.map((v) => [v.enforcementLevel, v.message])).toEqual([
      ["advisory", 'ingress[1] takes sources from prefix list "pl-0cloudfront000000", which this stack does not declare; its entries cannot be checked, so make sure none is open to the world'],
    ]);
    const known = await violations(sgNoWorldAdminPorts, [office, group("pl-0office00000000000")]);
    expect(known.map((v) => [v.enforcementLevel, v.message])).toEqual([
      ["advisory", "ingress[0] and ingress[1] name 2 prefix lists and this stack declares 1 of them; the entries of the others cannot be checked, so make sure none is open to the world"],
    ]);
    // Two rules naming the same declared list are not an undeclared one.
    const twice = res(SG, "twice", { description: "x", ingress: [rules("pl-0office00000000000")[0], { ...rules("pl-0office00000000000")[0], fromPort: 8443, toPort: 8443 }] }, { deps: { ingress: [office] } });
    expect(await violations(sgNoWorldAdminPorts, [office, twice])).toEqual([]);
  });

  it("notes a prefix list ID unknown during preview that comes from nothing the stack declares", async () => {
    const found = await violations(sgNoWorldAdminPorts, [sshFrom()]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([
      ["advisory", stackUnknownNote("sg-no-world-admin-ports", 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule "ssh": string value at .prefixListId')],
    ]);
  });

  it("notes prefix list entries unknown during preview, naming the list", async () => {
    const unknownEntries = withInputs(office, { entries: [{ cidr: UNKNOWN }] });
    const found = await violations(sgNoWorldAdminPorts, [unknownEntries, sshFrom(office)]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([
      ["advisory", stackUnknownNote("sg-no-world-admin-ports", 'aws:ec2/managedPrefixList:ManagedPrefixList "office": string value at .entries.0.cidr')],
    ]);
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
