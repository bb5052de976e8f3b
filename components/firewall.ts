/**
 * Firewall: the security group of the cluster's entry point (its load balancer), with one separate
 * rule resource per allow-listed CIDR, and optionally a WAFv2 web ACL in front of it.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "./config";

/** Type token of {@link Firewall}. */
export const FIREWALL_TYPE = "gitops-platform:aws:Firewall";

type FirewallConfig = PlatformConfig["firewall"];
type FirewallRule = FirewallConfig["ingress"][number];

export interface FirewallArgs {
  /** The cluster's VPC, where the security group lives. */
  readonly vpcId: pulumi.Input<string>;
  /** Ingress and egress rules and the WAF settings, as validated by components/config.ts. */
  readonly rules: FirewallConfig;
  /**
   * What the group guards, shown as its description.
   * @default "Entry point of the cluster: ingress from allow-listed CIDRs only"
   */
  readonly description?: string;
}

/** The arguments of one separate rule resource: one CIDR, the right address family, ports unless "all". */
export function ruleArgs(rule: FirewallRule, cidr: string, securityGroupId: pulumi.Input<string>): aws.vpc.SecurityGroupIngressRuleArgs {
  const ipv6 = cidr.includes(":");
  // ICMP for IPv6 sources is ICMPv6; AWS would accept "icmp" there but it would match nothing.
  const ipProtocol = rule.protocol === "icmp" && ipv6 ? "icmpv6" : rule.protocol;
  const ports = rule.protocol === "-1" ? {} : { fromPort: rule.fromPort, toPort: rule.toPort };
  return {
    securityGroupId,
    description: rule.description,
    ipProtocol,
    ...ports,
    ...(ipv6 ? { cidrIpv6: cidr } : { cidrIpv4: cidr }),
  };
}

export class Firewall extends pulumi.ComponentResource {
  /** The entry point's security group. */
  public readonly securityGroup: aws.ec2.SecurityGroup;
  /** Its id, for the load balancer (e.g. the `alb.ingress.kubernetes.io/security-groups` annotation). */
  public readonly securityGroupId: pulumi.Output<string>;
  /** One ingress rule per (rule, CIDR), in config order. */
  public readonly ingressRules: aws.vpc.SecurityGroupIngressRule[];
  /** One egress rule per (rule, CIDR), in config order; none means no egress at all. */
  public readonly egressRules: aws.vpc.SecurityGroupEgressRule[];
  /** The WAFv2 web ACL, when enabled. */
  public readonly webAcl: aws.wafv2.WebAcl | undefined;
  /** Its ARN (for the `alb.ingress.kubernetes.io/wafv2-acl-arn` annotation), when enabled. */
  public readonly webAclArn: pulumi.Output<string> | undefined;

  constructor(name: string, args: FirewallArgs, opts?: pulumi.ComponentResourceOptions) {
    super(FIREWALL_TYPE, name, {}, opts);
    const description = args.description ?? "Entry point of the cluster: ingress from allow-listed CIDRs only";

    // No inline ingress/egress: rules are separate resources only, and the provider removes AWS's
    // default allow-all egress from a group created without inline egress.
    this.securityGroup = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      { vpcId: args.vpcId, description, revokeRulesOnDelete: true },
      { parent: this },
    );
    this.securityGroupId = this.securityGroup.id;

    this.ingressRules = args.rules.ingress.flatMap((rule, i) =>
      rule.cidrs.map(
        (cidr, j) => new aws.vpc.SecurityGroupIngressRule(`${name}-ingress-${i}-${j}`, ruleArgs(rule, cidr, this.securityGroup.id), { parent: this }),
      ),
    );
    this.egressRules = args.rules.egress.flatMap((rule, i) =>
      rule.cidrs.map(
        (cidr, j) => new aws.vpc.SecurityGroupEgressRule(`${name}-egress-${i}-${j}`, ruleArgs(rule, cidr, this.securityGroup.id), { parent: this }),
      ),
    );

    const waf = args.rules.waf;
    if (waf.enabled) {
      const visibility = (metricName: string) => ({ cloudwatchMetricsEnabled: true, metricName, sampledRequestsEnabled: true });
      const managed = waf.managedRuleGroups.map((group, i) => ({
        name: group,
        priority: i,
        // Managed groups keep their own block/count actions.
        overrideAction: { none: {} },
        statement: { managedRuleGroupStatement: { vendorName: "AWS", name: group } },
        visibilityConfig: visibility(group),
      }));
      const rateLimit = {
        name: "rate-limit-per-ip",
        priority: managed.length,
        action: { block: {} },
        statement: { rateBasedStatement: { limit: waf.rateLimit, aggregateKeyType: "IP", evaluationWindowSec: 300 } },
        visibilityConfig: visibility("rate-limit-per-ip"),
      };
      this.webAcl = new aws.wafv2.WebAcl(
        `${name}-waf`,
        {
          scope: "REGIONAL",
          description: "Web ACL of the cluster's entry point: AWS managed rule groups and a per-IP rate limit",
          defaultAction: { allow: {} },
          rules: [...managed, rateLimit],
          visibilityConfig: visibility(`${name}-waf`),
        },
        { parent: this },
      );
      this.webAclArn = this.webAcl.arn;
    }

    this.registerOutputs({ securityGroupId: this.securityGroupId, webAclArn: this.webAclArn });
  }
}
