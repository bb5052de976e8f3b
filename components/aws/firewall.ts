/**
 * Firewall: the security group of the cluster's entry point (its load balancer), with one separate
 * rule resource per allow-listed CIDR, and optionally a WAFv2 web ACL in front of it.
 *
 * When the load balancer fronts the webhook receiver, two things follow from what it really sends:
 * - Egress to the receiver's pods on the ports the Ingress targets (target type `ip`: the pod's
 *   container port and the health-check port), not to some port of the nodes.
 * - GitHub's push payloads routinely exceed the 8 KB that the Common rule set's
 *   `SizeRestrictions_BODY` rule allows. That one rule is set to count (it still labels the request)
 *   and a rule of our own blocks the label on every path but the receiver's, so every other rule of
 *   the group keeps blocking on the receiver path too, and oversized bodies stay blocked elsewhere.
 *   The receiver itself rejects payloads without a valid HMAC signature of its token.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Type token of {@link Firewall}. */
export const FIREWALL_TYPE = "gitops-platform:aws:Firewall";

/** The AWS managed rule group whose body size rule blocks webhook payloads. */
export const COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet";
/** Its rule that blocks bodies over 8 KB (AWS WAF developer guide, baseline rule groups: core rule set). */
export const BODY_SIZE_RULE = "SizeRestrictions_BODY";
/** The label that rule adds to a matching request, also when its action is overridden to count. */
export const BODY_SIZE_LABEL = "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body";
/** Name (and metric) of the rule that blocks oversized bodies everywhere but the receiver path. */
export const BODY_SIZE_OUTSIDE_RECEIVER_RULE = "body-size-outside-receiver";

/** One allow-listed port range, one security group rule per CIDR. */
export interface FirewallRule {
  /** Why the rule exists; shown on the rule in AWS. */
  readonly description: string;
  /** `tcp`, `udp`, `icmp` or `-1` (all). */
  readonly protocol: string;
  readonly fromPort: number;
  readonly toPort: number;
  readonly cidrs: readonly string[];
}

/** The entry point's rules and its WAF. */
export interface FirewallRules {
  /** Ingress from allow-listed CIDRs. */
  readonly ingress: readonly FirewallRule[];
  /** Egress from the entry point. */
  readonly egress: readonly FirewallRule[];
  /** The WAFv2 web ACL: on or off, the rate limit per IP and 5 minutes, AWS managed rule groups. */
  readonly waf: { readonly enabled: boolean; readonly rateLimit: number; readonly managedRuleGroups: readonly string[] };
}

export interface FirewallArgs {
  /** The cluster's VPC, where the security group lives. */
  readonly vpcId: pulumi.Input<string>;
  /** Ingress and egress rules and the WAF settings. */
  readonly rules: FirewallRules;
  /**
   * What the group guards, shown as its description.
   * @default "Entry point of the cluster: ingress from allow-listed CIDRs only"
   */
  readonly description?: string;
  /**
   * The webhook receiver the load balancer fronts: the group may reach its pods, and the WAF lets
   * its signed payloads through the body size limit.
   * @default none: no receiver egress, no WAF exemption
   */
  readonly receiver?: FirewallReceiver;
}

/** What the load balancer sends to the webhook receiver. */
export interface FirewallReceiver {
  /** URI path prefix the Ingress routes to the receiver, e.g. `/hook/`. */
  readonly pathPrefix: string;
  /** TCP ports of the receiver's pods the load balancer reaches (traffic and health check). */
  readonly ports: readonly number[];
  /** Security group of the receiver's pods (with the VPC CNI: their node's group, e.g. the EKS cluster security group). */
  readonly targetSecurityGroupId: pulumi.Input<string>;
}

/** The web ACL rule that blocks the body size label on every path that is not the receiver's. */
export function bodySizeOutsideReceiverRule(priority: number, pathPrefix: string, visibilityConfig: aws.types.input.wafv2.WebAclVisibilityConfig): aws.types.input.wafv2.WebAclRule {
  return {
    name: BODY_SIZE_OUTSIDE_RECEIVER_RULE,
    priority,
    action: { block: {} },
    statement: {
      andStatement: {
        statements: [
          { labelMatchStatement: { scope: "LABEL", key: BODY_SIZE_LABEL } },
          {
            notStatement: {
              statement: {
                byteMatchStatement: {
                  searchString: pathPrefix,
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
    visibilityConfig,
  };
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
    // Target type ip: the load balancer connects to the pod's own port and health-check port.
    const receiver = args.receiver;
    const receiverTargets = receiver ? receiver.ports.map((port) => ({ port, targetSecurityGroupId: receiver.targetSecurityGroupId })) : [];
    for (const { port, targetSecurityGroupId } of receiverTargets) {
      this.egressRules.push(
        new aws.vpc.SecurityGroupEgressRule(
          `${name}-egress-receiver-${port}`,
          {
            securityGroupId: this.securityGroup.id,
            description: `Load balancer to the webhook receiver's pods, TCP ${port}`,
            ipProtocol: "tcp",
            fromPort: port,
            toPort: port,
            referencedSecurityGroupId: targetSecurityGroupId,
          },
          { parent: this },
        ),
      );
    }

    const waf = args.rules.waf;
    if (waf.enabled) {
      const visibility = (metricName: string) => ({ cloudwatchMetricsEnabled: true, metricName, sampledRequestsEnabled: true });
      // Only the body size rule of the Common group, and only with a receiver behind the ACL.
      const exemptBodySize = receiver !== undefined && waf.managedRuleGroups.includes(COMMON_RULE_SET);
      const managed = waf.managedRuleGroups.map((group, i) => ({
        name: group,
        priority: i,
        // Managed groups keep their own block/count actions.
        overrideAction: { none: {} },
        statement: {
          managedRuleGroupStatement: {
            vendorName: "AWS",
            name: group,
            ...(exemptBodySize && group === COMMON_RULE_SET ? { ruleActionOverrides: [{ name: BODY_SIZE_RULE, actionToUse: { count: {} } }] } : {}),
          },
        },
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
          // The label rule must come after the group that adds the label (a higher priority number).
          rules: [
            ...managed,
            rateLimit,
            ...(exemptBodySize && receiver !== undefined ? [bodySizeOutsideReceiverRule(managed.length + 1, receiver.pathPrefix, visibility(BODY_SIZE_OUTSIDE_RECEIVER_RULE))] : []),
          ],
          visibilityConfig: visibility(`${name}-waf`),
        },
        { parent: this },
      );
      this.webAclArn = this.webAcl.arn;
    }

    this.registerOutputs({ securityGroupId: this.securityGroupId, webAclArn: this.webAclArn });
  }
}
