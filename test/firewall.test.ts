import { describe, expect, it } from "vitest";
import { BODY_SIZE_LABEL, Firewall, type FirewallArgs } from "../components/aws/firewall";
import { RECEIVER_HEALTH_PORT, RECEIVER_PATH_PREFIX, RECEIVER_PORT } from "../components/k8s/webhook-receiver";
import { findResource, isUnknown, resourcesOfType, runProgram, type PlanResult } from "../tools/engine";

const SG = "aws:ec2/securityGroup:SecurityGroup";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const WAF = "aws:wafv2/webAcl:WebAcl";

const waf = { enabled: false, rateLimit: 2000, managedRuleGroups: ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"] };
const https = { description: "HTTPS from the office", protocol: "tcp" as const, fromPort: 443, toPort: 443, cidrs: ["203.0.113.0/24"] };

function run(rules: Partial<FirewallArgs["rules"]>, extra: Partial<FirewallArgs> = {}, preview = true): Promise<PlanResult> {
  return runProgram({
    stack: "test",
    config: { "aws:region": "eu-west-1" },
    preview,
    program: () => {
      new Firewall("fw", { vpcId: "vpc-0123456789abcdef0", rules: { ingress: [https], egress: [], waf, ...rules }, ...extra });
    },
  });
}

describe("Firewall", () => {
  it("uses the correct default values", async () => {
    const result = await run({});
    const sg = findResource(result, SG, "fw-sg");
    expect(sg.inputs).toEqual({
      vpcId: "vpc-0123456789abcdef0",
      description: "Entry point of the cluster: ingress from allow-listed CIDRs only",
      revokeRulesOnDelete: true,
    });
    expect(resourcesOfType(result, EGRESS)).toEqual([]);
    expect(resourcesOfType(result, WAF)).toEqual([]);
  });

  it("declares the group in the given VPC with no inline rules, so no default allow-all egress", async () => {
    const sg = findResource(await run({}, { description: "Load balancer of the cluster" }), SG, "fw-sg");
    expect(sg.inputs.description).toBe("Load balancer of the cluster");
    expect(sg.inputs).not.toHaveProperty("ingress");
    expect(sg.inputs).not.toHaveProperty("egress");
    expect(sg.parent).toBe("urn:pulumi:test::gitops-platform::gitops-platform:aws:Firewall::fw");
  });

  it("declares one separate ingress rule per rule and CIDR, IPv4 and IPv6 in their own property", async () => {
    const result = await run({
      ingress: [https, { description: "HTTPS from the public internet", protocol: "tcp", fromPort: 443, toPort: 443, cidrs: ["0.0.0.0/0", "::/0"] }],
    });
    const sg = findResource(result, SG, "fw-sg");
    expect(resourcesOfType(result, INGRESS).map((r) => r.name)).toEqual(["fw-ingress-0-0", "fw-ingress-1-0", "fw-ingress-1-1"]);
    const v4 = findResource(result, INGRESS, "fw-ingress-1-0");
    expect(isUnknown(v4.inputs.securityGroupId)).toBe(true);
    expect({ ...v4.inputs, securityGroupId: "sg" }).toEqual({
      securityGroupId: "sg",
      description: "HTTPS from the public internet",
      ipProtocol: "tcp",
      fromPort: 443,
      toPort: 443,
      cidrIpv4: "0.0.0.0/0",
    });
    expect(v4.propertyDependencies.securityGroupId).toEqual([sg.urn]);
    const v6 = findResource(result, INGRESS, "fw-ingress-1-1");
    expect(v6.inputs.cidrIpv6).toBe("::/0");
    expect(v6.inputs).not.toHaveProperty("cidrIpv4");
    expect(findResource(result, INGRESS, "fw-ingress-0-0").inputs.cidrIpv4).toBe("203.0.113.0/24");
  });

  it("gives the rules the group's id once it exists", async () => {
    const rule = findResource(await run({}, {}, false), INGRESS, "fw-ingress-0-0");
    expect(rule.inputs.securityGroupId).toBe("fw-sg-offline-id");
  });

  it("leaves ports off all-protocol rules and uses ICMPv6 for IPv6 ICMP", async () => {
    const result = await run({
      ingress: [
        { description: "Everything from the VPC", protocol: "-1", fromPort: 0, toPort: 0, cidrs: ["10.0.0.0/16"] },
        { description: "Path MTU discovery", protocol: "icmp", fromPort: 3, toPort: 4, cidrs: ["10.0.0.0/16", "2001:db8::/32"] },
      ],
    });
    const all = findResource(result, INGRESS, "fw-ingress-0-0");
    expect(all.inputs.ipProtocol).toBe("-1");
    expect(all.inputs).not.toHaveProperty("fromPort");
    expect(all.inputs).not.toHaveProperty("toPort");
    expect(findResource(result, INGRESS, "fw-ingress-1-0").inputs).toMatchObject({ ipProtocol: "icmp", fromPort: 3, toPort: 4 });
    expect(findResource(result, INGRESS, "fw-ingress-1-1").inputs).toMatchObject({ ipProtocol: "icmpv6", fromPort: 3, toPort: 4, cidrIpv6: "2001:db8::/32" });
  });

  it("declares egress only as configured, as separate rules with descriptions", async () => {
    const result = await run({
      egress: [{ description: "HTTPS to the nodes", protocol: "tcp", fromPort: 443, toPort: 443, cidrs: ["10.20.0.0/16", "2001:db8:1::/48"] }],
    });
    const rules = resourcesOfType(result, EGRESS);
    expect(rules.map((r) => r.name)).toEqual(["fw-egress-0-0", "fw-egress-0-1"]);
    expect({ ...rules[0]!.inputs, securityGroupId: "sg" }).toEqual({
      securityGroupId: "sg",
      description: "HTTPS to the nodes",
      ipProtocol: "tcp",
      fromPort: 443,
      toPort: 443,
      cidrIpv4: "10.20.0.0/16",
    });
    expect(rules[1]!.inputs.cidrIpv6).toBe("2001:db8:1::/48");
  });

  it("declares a regional web ACL with managed rule groups and a per-IP rate limit when enabled", async () => {
    const result = await run({ waf: { enabled: true, rateLimit: 1000, managedRuleGroups: ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesSQLiRuleSet"] } });
    const acl = findResource(result, WAF, "fw-waf");
    const visibility = (metricName: string) => ({ cloudwatchMetricsEnabled: true, metricName, sampledRequestsEnabled: true });
    expect(acl.inputs).toEqual({
      scope: "REGIONAL",
      description: "Web ACL of the cluster's entry point: AWS managed rule groups and a per-IP rate limit",
      defaultAction: { allow: {} },
      visibilityConfig: visibility("fw-waf"),
      rules: [
        {
          name: "AWSManagedRulesCommonRuleSet",
          priority: 0,
          overrideAction: { none: {} },
          statement: { managedRuleGroupStatement: { vendorName: "AWS", name: "AWSManagedRulesCommonRuleSet" } },
          visibilityConfig: visibility("AWSManagedRulesCommonRuleSet"),
        },
        {
          name: "AWSManagedRulesSQLiRuleSet",
          priority: 1,
          overrideAction: { none: {} },
          statement: { managedRuleGroupStatement: { vendorName: "AWS", name: "AWSManagedRulesSQLiRuleSet" } },
          visibilityConfig: visibility("AWSManagedRulesSQLiRuleSet"),
        },
        {
          name: "rate-limit-per-ip",
          priority: 2,
          action: { block: {} },
          statement: { rateBasedStatement: { limit: 1000, aggregateKeyType: "IP", evaluationWindowSec: 300 } },
          visibilityConfig: visibility("rate-limit-per-ip"),
        },
      ],
    });
    expect(acl.parent).toBe("urn:pulumi:test::gitops-platform::gitops-platform:aws:Firewall::fw");
  });

  const receiver = { pathPrefix: RECEIVER_PATH_PREFIX, ports: [RECEIVER_PORT, RECEIVER_HEALTH_PORT], targetSecurityGroupId: "sg-0c1u57e400000000a" };

  it("lets the load balancer reach the receiver's pods on the ports the Ingress targets, and nothing else", async () => {
    const result = await run({}, { receiver });
    const rules = resourcesOfType(result, EGRESS);
    expect(rules.map((r) => r.name)).toEqual(["fw-egress-receiver-9292", "fw-egress-receiver-9440"]);
    expect({ ...rules[0]!.inputs, securityGroupId: "sg" }).toEqual({
      securityGroupId: "sg",
      description: "Load balancer to the webhook receiver's pods, TCP 9292",
      ipProtocol: "tcp",
      fromPort: 9292,
      toPort: 9292,
      referencedSecurityGroupId: "sg-0c1u57e400000000a",
    });
    expect(rules[1]!.inputs).toMatchObject({ fromPort: 9440, toPort: 9440, description: "Load balancer to the webhook receiver's pods, TCP 9440" });
    expect(rules.every((r) => r.inputs.cidrIpv4 === undefined && r.inputs.cidrIpv6 === undefined)).toBe(true);
  });

  it("keeps the Common rule set on the receiver path but lets its signed payloads past the body size limit", async () => {
    const result = await run({ waf: { ...waf, enabled: true } }, { receiver });
    const rules = findResource(result, WAF, "fw-waf").inputs.rules as Record<string, unknown>[];
    expect(rules.map((r) => [r.name, r.priority])).toEqual([
      ["AWSManagedRulesCommonRuleSet", 0],
      ["AWSManagedRulesKnownBadInputsRuleSet", 1],
      ["rate-limit-per-ip", 2],
      ["body-size-outside-receiver", 3],
    ]);
    // Only SizeRestrictions_BODY counts instead of blocking; the group itself still applies everywhere.
    expect(rules[0]!.statement).toEqual({
      managedRuleGroupStatement: {
        vendorName: "AWS",
        name: "AWSManagedRulesCommonRuleSet",
        ruleActionOverrides: [{ name: "SizeRestrictions_BODY", actionToUse: { count: {} } }],
      },
    });
    expect(rules[0]).not.toHaveProperty("statement.managedRuleGroupStatement.scopeDownStatement");
    expect(rules[1]!.statement).toEqual({ managedRuleGroupStatement: { vendorName: "AWS", name: "AWSManagedRulesKnownBadInputsRuleSet" } });
    expect(rules[3]).toEqual({
      name: "body-size-outside-receiver",
      priority: 3,
      action: { block: {} },
      statement: {
        andStatement: {
          statements: [
            { labelMatchStatement: { scope: "LABEL", key: "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body" } },
            {
              notStatement: {
                statement: {
                  byteMatchStatement: {
                    searchString: "/hook/",
                    fieldToMatch: { uriPath: {} },
                    positionalConstraint: "STARTS_WITH",
                    textTransformations: [{ priority: 0, type: "NONE" }],
                  },
                },
              },
            },
          ],
        },
      },
      visibilityConfig: { cloudwatchMetricsEnabled: true, metricName: "body-size-outside-receiver", sampledRequestsEnabled: true },
    });
    expect(BODY_SIZE_LABEL).toBe("awswaf:managed:aws:core-rule-set:SizeRestrictions_Body");
  });

  it("changes nothing in the web ACL without a receiver, or without the Common rule set", async () => {
    const none = findResource(await run({ waf: { ...waf, enabled: true } }), WAF, "fw-waf").inputs.rules as Record<string, unknown>[];
    expect(none.map((r) => r.name)).toEqual(["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "rate-limit-per-ip"]);
    expect(JSON.stringify(none)).not.toContain("ruleActionOverrides");
    const withoutCommon = findResource(
      await run({ waf: { ...waf, enabled: true, managedRuleGroups: ["AWSManagedRulesKnownBadInputsRuleSet"] } }, { receiver }),
      WAF,
      "fw-waf",
    ).inputs.rules as Record<string, unknown>[];
    expect(withoutCommon.map((r) => r.name)).toEqual(["AWSManagedRulesKnownBadInputsRuleSet", "rate-limit-per-ip"]);
  });
});
