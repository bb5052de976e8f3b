/**
 * The firewall section of the stack contract: ingress and egress rules, each checked on its own
 * (ports in order, no world-open block reaching an admin or risky port), and the WAF.
 */
import { z } from "zod";
import { ADMIN_PORTS, isIpv4Mapped, isWorldOpen, RISKY_PORTS } from "../../policies/network-rules";
import { cidr, cidrProblem, port } from "./formats";

const firewallRuleSection = z.strictObject({
  /** Why the rule exists; shown on the rule in AWS. */
  description: z.string().min(1, "expected a description").max(255),
  protocol: z.enum(["tcp", "udp", "icmp", "-1"], { error: "expected tcp, udp, icmp or -1 (all)" }).default("tcp"),
  fromPort: port,
  toPort: port,
  cidrs: z.array(cidr).min(1, "expected at least one CIDR"),
});

type FirewallRule = z.output<typeof firewallRuleSection>;

/** Ports never open to the world from config: the policy pack's admin and risky ports together. */
export const WORLD_CLOSED_PORTS: readonly number[] = [...ADMIN_PORTS, ...RISKY_PORTS].sort((a, b) => a - b);

function portRangeIssues(rule: FirewallRule, ctx: z.RefinementCtx): void {
  if (rule.protocol !== "-1" && rule.protocol !== "icmp" && rule.fromPort > rule.toPort) {
    ctx.addIssue({ code: "custom", path: ["fromPort"], message: `must not exceed toPort (${rule.fromPort} > ${rule.toPort})` });
  }
}

// Checked on each rule, so a bad rule elsewhere in the config doesn't hide this one's problems.
const ingressRule = firewallRuleSection.superRefine((rule, ctx) => {
  portRangeIssues(rule, ctx);
  rule.cidrs.forEach((block, j) => {
    // An IPv4-mapped block is refused as such (cidrProblem); the world checks would only repeat it.
    if (!isWorldOpen(block) || isIpv4Mapped(block)) return;
    // AWS's own findings look for /0; a world split in halves would pass them.
    if (Number(block.split("/")[1]) !== 0 && cidrProblem(block) === undefined) {
      const world = block.includes(":") ? "::/0" : "0.0.0.0/0";
      ctx.addIssue({ code: "custom", path: ["cidrs", j], message: `${block} covers most of the internet; write ${world} if the world is meant, so every check sees it` });
    }
    if (rule.protocol === "-1") {
      ctx.addIssue({ code: "custom", path: ["cidrs", j], message: `${block} may not reach every port (protocol -1); allow-list the ports it needs` });
      return;
    }
    if (rule.protocol === "icmp") return;
    const reached = WORLD_CLOSED_PORTS.filter((p) => rule.fromPort <= p && p <= rule.toPort);
    if (reached.length === 0) return;
    const list = reached.length === 1 ? `port ${reached[0]}` : `ports ${reached.slice(0, -1).join(", ")} and ${reached[reached.length - 1]}`;
    ctx.addIssue({ code: "custom", path: ["cidrs", j], message: `${block} may not reach ${list}` });
  });
});
const egressRule = firewallRuleSection.superRefine(portRangeIssues);

const wafSection = z.strictObject({
  enabled: z.boolean().default(false),
  /** Requests per 5 minutes per source IP before blocking. */
  rateLimit: z.number().int().min(100, "expected a rate limit from 100 to 2000000000").max(2_000_000_000).default(2000),
  /** AWS managed rule groups (names under vendor AWS). */
  managedRuleGroups: z
    .array(z.string().regex(/^AWSManagedRules[A-Za-z0-9]+$/, "expected an AWS managed rule group name (AWSManagedRules...)"))
    .default(["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"]),
});

export const firewallSection = z.strictObject({
  /** Ingress to the cluster's entry point, per port range, from allow-listed CIDRs. */
  ingress: z.array(ingressRule).min(1, "expected at least one ingress rule"),
  /** Egress from the entry point. @default none (no egress) */
  egress: z.array(egressRule).default([]),
  waf: wafSection.prefault({}),
});
