/**
 * Security groups: what a rule really opens to the world, wherever the rule is declared — inline
 * on the group (`ingress`), as an `aws.ec2.SecurityGroupRule`, or as an
 * `aws.vpc.SecurityGroupIngressRule`. Port ranges and all-protocol rules count for every port they
 * cover; IPv6 `::/0` is as open as `0.0.0.0/0`.
 */
import type { PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { ADMIN_PORTS, isWorldOpen, RISKY_PORTS } from "./network-rules";
import { dependsVia, joinWords, list, num, ofTypes, q, record, str, strings, UNKNOWN, Unknowns } from "./support";

const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
/** Adopts the VPC's default group; its inline rules open ports like any group's. */
const DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup";
const GROUP_TYPES = [SECURITY_GROUP, DEFAULT_SECURITY_GROUP];
const SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
const INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const RULE_TYPES = [SECURITY_GROUP_RULE, INGRESS_RULE, EGRESS_RULE];

/** The description the AWS SDK fills in when a group is declared without one. */
const SDK_DEFAULT_DESCRIPTION = "Managed by Pulumi";

/** One ingress permission, normalised across the three ways of declaring it. */
export interface Ingress {
  /** Where it is declared: `ingress[0]` for inline rules, `rule` for a rule resource. */
  readonly label: string;
  /** `tcp`, `udp`, `icmp`, `icmpv6`, `all`, or the protocol as given. */
  readonly protocol: string;
  readonly fromPort: number;
  readonly toPort: number;
  readonly cidrs: string[];
}

const PROTOCOL_NUMBERS: Record<string, string> = { "-1": "all", all: "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6" };

function protocolName(value: unknown): string {
  const text = (typeof value === "number" ? String(value) : (str(value) ?? "")).toLowerCase();
  return PROTOCOL_NUMBERS[text] ?? text;
}

/** The ingress permissions a resource declares (inline rules or a separate rule resource). */
export function ingressOf(type: string, props: Record<string, unknown>): Ingress[] {
  if (GROUP_TYPES.includes(type)) {
    return list(props.ingress).map((raw, index) => {
      const rule = record(raw) ?? {};
      return {
        label: `ingress[${index}]`,
        protocol: protocolName(rule.protocol),
        fromPort: num(rule.fromPort) ?? 0,
        toPort: num(rule.toPort) ?? 0,
        cidrs: [...strings(rule.cidrBlocks), ...strings(rule.ipv6CidrBlocks)],
      };
    });
  }
  if (type === SECURITY_GROUP_RULE) {
    if (props.type !== "ingress") return [];
    return [
      {
        label: "rule",
        protocol: protocolName(props.protocol),
        fromPort: num(props.fromPort) ?? 0,
        toPort: num(props.toPort) ?? 0,
        cidrs: [...strings(props.cidrBlocks), ...strings(props.ipv6CidrBlocks)],
      },
    ];
  }
  if (type === INGRESS_RULE) {
    return [
      {
        label: "rule",
        protocol: protocolName(props.ipProtocol),
        fromPort: num(props.fromPort) ?? 0,
        toPort: num(props.toPort) ?? 65535,
        cidrs: [...strings(props.cidrIpv4), ...strings(props.cidrIpv6)],
      },
    ];
  }
  return [];
}

/** True when the permission reaches `port` (TCP or UDP; every port for all-protocol rules). */
export function reachesPort(ingress: Ingress, port: number): boolean {
  if (ingress.protocol === "all") return true;
  if (ingress.protocol !== "tcp" && ingress.protocol !== "udp") return false;
  return ingress.fromPort <= port && port <= ingress.toPort;
}

/** `tcp 0-65535`, `all protocols`. */
function describeRange(ingress: Ingress): string {
  if (ingress.protocol === "all") return "all protocols";
  if (ingress.protocol !== "tcp" && ingress.protocol !== "udp") return ingress.protocol;
  return ingress.fromPort === ingress.toPort ? `${ingress.protocol} ${ingress.fromPort}` : `${ingress.protocol} ${ingress.fromPort}-${ingress.toPort}`;
}

/** A resource validation over every kind of security group ingress. */
function validateIngress(check: (ingress: Ingress, args: ResourceValidationArgs, reportViolation: ReportViolation) => void) {
  return (args: ResourceValidationArgs, reportViolation: ReportViolation): void => {
    if (!GROUP_TYPES.includes(args.type) && !RULE_TYPES.includes(args.type)) return;
    for (const ingress of ingressOf(args.type, args.props)) check(ingress, args, reportViolation);
  };
}

function reportWorldOpenPorts(ports: readonly number[], ingress: Ingress, reportViolation: ReportViolation): void {
  for (const cidr of ingress.cidrs.filter(isWorldOpen)) {
    const reached = ports.filter((port) => reachesPort(ingress, port));
    if (reached.length === 0) continue;
    const what = reached.length === 1 ? `port ${reached[0]}` : `ports ${joinWords(reached.map(String))}`;
    reportViolation(`${ingress.label} lets ${cidr} reach ${what} (${describeRange(ingress)})`);
  }
}

/** SG admin: SSH and RDP are never open to the world. */
export const sgNoWorldAdminPorts: ResourceValidationPolicy = {
  name: "sg-no-world-admin-ports",
  description: "No security group or rule lets 0.0.0.0/0 or ::/0 reach SSH (22) or RDP (3389), counting port ranges and all-protocol rules.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      ports: { type: "array", items: { type: "integer", minimum: 0, maximum: 65535 }, default: [...ADMIN_PORTS], description: "Administrative ports." },
    },
  },
  validateResource: validateIngress((ingress, args, reportViolation) => {
    const { ports = ADMIN_PORTS } = args.getConfig<{ ports?: number[] }>();
    reportWorldOpenPorts(ports, ingress, reportViolation);
  }),
};

/** SG risky ports: no world-open database or remote-admin ports. */
export const sgNoWorldRiskyPorts: ResourceValidationPolicy = {
  name: "sg-no-world-risky-ports",
  description: "No security group or rule lets 0.0.0.0/0 or ::/0 reach database, cache, search or remote-admin ports (FTP, Telnet, SMB, SQL Server, MySQL, PostgreSQL, Redis, Elasticsearch, Docker, etcd, kubelet, ...).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      ports: { type: "array", items: { type: "integer", minimum: 0, maximum: 65535 }, default: [...RISKY_PORTS], description: "Ports never open to the world." },
    },
  },
  validateResource: validateIngress((ingress, args, reportViolation) => {
    const { ports = RISKY_PORTS } = args.getConfig<{ ports?: number[] }>();
    reportWorldOpenPorts(ports, ingress, reportViolation);
  }),
};

/** SG public: world-open ingress only on allow-listed ports. */
export const sgWorldIngressAllowlist: ResourceValidationPolicy = {
  name: "sg-world-ingress-allowlist",
  description: "Ingress open to 0.0.0.0/0 or ::/0 is allowed only on the allow-listed ports (443 by default).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      allowedPorts: { type: "array", items: { type: "integer", minimum: 0, maximum: 65535 }, default: [443], description: "Ports that may be open to the world." },
    },
  },
  validateResource: validateIngress((ingress, args, reportViolation) => {
    const { allowedPorts = [443] } = args.getConfig<{ allowedPorts?: number[] }>();
    const width = ingress.toPort - ingress.fromPort + 1;
    const allowed =
      (ingress.protocol === "tcp" || ingress.protocol === "udp") &&
      width >= 1 &&
      width <= allowedPorts.length &&
      Array.from({ length: width }, (_, i) => ingress.fromPort + i).every((port) => allowedPorts.includes(port));
    if (allowed) return;
    for (const cidr of ingress.cidrs.filter(isWorldOpen)) {
      reportViolation(`${ingress.label} opens ${describeRange(ingress)} to ${cidr}; world-open ingress is allowed only on port${allowedPorts.length === 1 ? "" : "s"} ${joinWords(allowedPorts.map(String))}`);
    }
  }),
};

/** SG hygiene: descriptions everywhere; inline rules and rule resources never mixed on one group. */
export const sgHygiene: StackValidationPolicy = {
  name: "sg-hygiene",
  description: "Every security group and rule has a description, and no group mixes inline rules with separate rule resources.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const unknowns = new Unknowns();
    const rules = ofTypes(args.resources, RULE_TYPES);
    for (const group of ofTypes(args.resources, GROUP_TYPES)) {
      // The default group's description is AWS's own and cannot be set.
      const description = group.type === DEFAULT_SECURITY_GROUP ? "default VPC security group" : unknowns.read(() => str(group.props.description));
      if (description !== UNKNOWN && (description === undefined || description.trim() === "" || description === SDK_DEFAULT_DESCRIPTION)) {
        reportViolation(`security group has no description (the default ${q(SDK_DEFAULT_DESCRIPTION)} does not count)`, group.urn);
      }
      const inline: string[] = [];
      for (const direction of ["ingress", "egress"] as const) {
        if (!(direction in group.props)) continue;
        inline.push(direction);
        const entries = unknowns.read(() => list(group.props[direction]).map((raw) => str(record(raw)?.description)));
        if (entries === UNKNOWN) continue;
        entries.forEach((entry, index) => {
          if (entry === undefined || entry.trim() === "") reportViolation(`${direction}[${index}] has no description`, group.urn);
        });
      }
      const separate = rules.filter((rule) => dependsVia(rule, "securityGroupId", group));
      if (inline.length > 0 && separate.length > 0) {
        reportViolation(
          `security group mixes inline ${inline.join(" and ")} rules with separate rule resources (${separate.map((rule: PolicyResource) => rule.name).join(", ")}); declare its rules one way only`,
          group.urn,
        );
      }
    }
    for (const rule of rules) {
      const description = unknowns.read(() => str(rule.props.description));
      if (description !== UNKNOWN && (description === undefined || description.trim() === "")) reportViolation("security group rule has no description", rule.urn);
    }
    unknowns.rethrow();
  },
};

/** The network rules, in table order. */
export const networkPolicies = [sgNoWorldAdminPorts, sgNoWorldRiskyPorts, sgWorldIngressAllowlist, sgHygiene];
