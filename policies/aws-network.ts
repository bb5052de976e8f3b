/**
 * Security groups: what a rule really opens to the world, wherever the rule is declared — inline
 * on the group (`ingress`), as an `aws.ec2.SecurityGroupRule`, or as an
 * `aws.vpc.SecurityGroupIngressRule`. Port ranges and all-protocol rules count for every port they
 * cover; IPv6 `::/0` is as open as `0.0.0.0/0`.
 *
 * Sources given as managed prefix lists count with their entries: a list the program declares
 * (`aws.ec2.ManagedPrefixList` and its `aws.ec2.ManagedPrefixListEntry` resources) is resolved
 * through the rule's property dependencies, which stay in the state for every later preview; a
 * list the stack does not declare (an AWS-managed list, an ID typed in) cannot be read by a
 * policy and gets an advisory note on the rule, never a silent pass.
 */
import type { PolicyResource, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { ADMIN_PORTS, isWorldOpen, RISKY_PORTS } from "./network-rules";
import { dependenciesOfType, dependsVia, joinWords, list, num, ofTypes, q, record, reportNote, str, strings, UNKNOWN, Unknowns } from "./support";

const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
/** Adopts the VPC's default group; its inline rules open ports like any group's. */
const DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup";
const GROUP_TYPES = [SECURITY_GROUP, DEFAULT_SECURITY_GROUP];
const SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
const INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const RULE_TYPES = [SECURITY_GROUP_RULE, INGRESS_RULE, EGRESS_RULE];
const PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList";
const PREFIX_LIST_ENTRY = "aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry";

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
  /** The property its prefix lists are given in (`ingress` for inline rules). */
  readonly prefixListProp: string;
  /** Prefix list IDs it names, read lazily: they are often unknown until the list exists. */
  readonly prefixListIds: () => unknown[];
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
        prefixListProp: "ingress",
        prefixListIds: () => list(rule.prefixListIds),
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
        prefixListProp: "prefixListIds",
        prefixListIds: () => list(props.prefixListIds),
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
        prefixListProp: "prefixListId",
        prefixListIds: () => list(props.prefixListId),
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

/** A source of an ingress permission: a CIDR block, given directly or through a prefix list. */
interface Source {
  readonly cidr: string;
  /** ` (from prefix list "office")` when it comes from one; empty otherwise. */
  readonly via: string;
}

/** The CIDR blocks of each prefix list the stack declares (inline entries and entry resources), by URN. */
function prefixListEntries(resources: readonly PolicyResource[], unknowns: Unknowns): Map<string, { label: string; cidrs: string[] } | typeof UNKNOWN> {
  const entries = ofTypes(resources, [PREFIX_LIST_ENTRY]);
  const found = new Map<string, { label: string; cidrs: string[] } | typeof UNKNOWN>();
  for (const prefixList of ofTypes(resources, [PREFIX_LIST])) {
    const name = Unknowns.peek(() => str(prefixList.props.name)) ?? prefixList.name;
    const inline = unknowns.read(() => list(prefixList.props.entries).map((entry) => str(record(entry)?.cidr)), prefixList);
    const separate = entries
      .filter((entry) => dependsVia(entry, "prefixListId", prefixList))
      .map((entry) => unknowns.read(() => str(entry.props.cidr), entry));
    const all = inline === UNKNOWN ? [UNKNOWN] : [...inline, ...separate];
    found.set(
      prefixList.urn,
      all.includes(UNKNOWN) ? UNKNOWN : { label: `prefix list ${q(name)}`, cidrs: all.filter((cidr): cidr is string => typeof cidr === "string") },
    );
  }
  return found;
}

/**
 * A stack validation over every kind of security group ingress, its CIDR blocks and the entries of
 * the prefix lists it names. A prefix list the stack does not declare gets a note on the rule.
 */
function validateIngress(
  check: (ingress: Ingress, sources: readonly Source[], args: StackValidationArgs, report: (message: string) => void) => void,
): StackValidationPolicy["validateStack"] {
  return (args, reportViolation) => {
    const unknowns = new Unknowns();
    const lists = prefixListEntries(args.resources, unknowns);
    for (const resource of ofTypes(args.resources, [...GROUP_TYPES, ...RULE_TYPES])) {
      const found: string[] = [];
      const notes: string[] = [];
      unknowns.read(() => {
        // Prefix list IDs by where they are named; unknown ones are computed from lists the stack declares.
        const named: { label: string; ids: (string | typeof UNKNOWN)[] }[] = [];
        let declared: PolicyResource[] = [];
        for (const ingress of ingressOf(resource.type, resource.props)) {
          const sources: Source[] = ingress.cidrs.map((cidr) => ({ cidr, via: "" }));
          const raw = Unknowns.peek(() => ingress.prefixListIds()) ?? [UNKNOWN];
          const ids = Array.from({ length: raw.length }, (_, i) => Unknowns.peek(() => str(raw[i])) ?? UNKNOWN);
          if (ids.length > 0) {
            // The declared lists are the property's dependencies: known at first preview and in the state after.
            declared = dependenciesOfType(resource, ingress.prefixListProp, [PREFIX_LIST]);
            named.push({ label: ingress.label, ids });
            for (const prefixList of declared) {
              const entries = lists.get(prefixList.urn);
              if (entries === undefined || entries === UNKNOWN) continue;
              for (const cidr of entries.cidrs) sources.push({ cidr, via: ` (from ${entries.label})` });
            }
            // Unknown and computed from nothing the stack declares: only the note can say so.
            if (declared.length === 0 && ids.includes(UNKNOWN)) unknowns.read(() => ingress.prefixListIds().map((id) => str(id)), resource);
          }
          check(ingress, sources, args, (message) => found.push(message));
        }
        notes.push(...undeclaredPrefixLists(named, declared.length));
      }, resource);
      for (const message of found) reportViolation(message, resource.urn);
      for (const message of notes) reportNote(reportViolation, message, resource.urn);
    }
    unknowns.rethrow();
  };
}

/**
 * Notes for prefix lists a resource names that the stack does not declare. While the declared
 * lists' IDs are unknown, every ID already known is one the stack does not declare; once all are
 * known, only their count tells how many are not declared.
 */
function undeclaredPrefixLists(named: readonly { label: string; ids: readonly (string | typeof UNKNOWN)[] }[], declared: number): string[] {
  const hint = "cannot be checked, so make sure none is open to the world";
  const anyUnknown = named.some((entry) => entry.ids.includes(UNKNOWN));
  if (declared === 0 || anyUnknown) {
    return named.flatMap(({ label, ids }) => {
      const literal = [...new Set(ids.filter((id): id is string => id !== UNKNOWN))];
      if (literal.length === 0) return [];
      const lists = `prefix list${literal.length === 1 ? "" : "s"} ${literal.map((id) => q(id)).join(", ")}`;
      return [`${label} takes sources from ${lists}, which this stack does not declare; ${literal.length === 1 ? "its entries" : "their entries"} ${hint}`];
    });
  }
  const distinct = new Set(named.flatMap(({ ids }) => ids));
  if (distinct.size <= declared) return [];
  const labels = named.map(({ label }) => label);
  return [`${joinWords(labels)} name${labels.length === 1 ? "s" : ""} ${distinct.size} prefix lists and this stack declares ${declared} of them; the entries of the others ${hint}`];
}

function reportWorldOpenPorts(ports: readonly number[], ingress: Ingress, sources: readonly Source[], report: (message: string) => void): void {
  for (const { cidr, via } of sources.filter((source) => isWorldOpen(source.cidr))) {
    const reached = ports.filter((port) => reachesPort(ingress, port));
    if (reached.length === 0) continue;
    const what = reached.length === 1 ? `port ${reached[0]}` : `ports ${joinWords(reached.map(String))}`;
    report(`${ingress.label} lets ${cidr}${via} reach ${what} (${describeRange(ingress)})`);
  }
}

/** SG admin: SSH and RDP are never open to the world. */
export const sgNoWorldAdminPorts: StackValidationPolicy = {
  name: "sg-no-world-admin-ports",
  description: "No security group or rule lets 0.0.0.0/0 or ::/0 reach SSH (22) or RDP (3389), counting port ranges and all-protocol rules.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      ports: { type: "array", items: { type: "integer", minimum: 0, maximum: 65535 }, default: [...ADMIN_PORTS], description: "Administrative ports." },
    },
  },
  validateStack: validateIngress((ingress, sources, args, report) => {
    const { ports = ADMIN_PORTS } = args.getConfig<{ ports?: number[] }>();
    reportWorldOpenPorts(ports, ingress, sources, report);
  }),
};

/** SG risky ports: no world-open database or remote-admin ports. */
export const sgNoWorldRiskyPorts: StackValidationPolicy = {
  name: "sg-no-world-risky-ports",
  description: "No security group or rule lets 0.0.0.0/0 or ::/0 reach database, cache, search or remote-admin ports (FTP, Telnet, SMB, SQL Server, MySQL, PostgreSQL, Redis, Elasticsearch, Docker, etcd, kubelet, ...).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      ports: { type: "array", items: { type: "integer", minimum: 0, maximum: 65535 }, default: [...RISKY_PORTS], description: "Ports never open to the world." },
    },
  },
  validateStack: validateIngress((ingress, sources, args, report) => {
    const { ports = RISKY_PORTS } = args.getConfig<{ ports?: number[] }>();
    reportWorldOpenPorts(ports, ingress, sources, report);
  }),
};

/** SG public: world-open ingress only on allow-listed ports. */
export const sgWorldIngressAllowlist: StackValidationPolicy = {
  name: "sg-world-ingress-allowlist",
  description: "Ingress open to 0.0.0.0/0 or ::/0 is allowed only on the allow-listed ports (443 by default).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      allowedPorts: { type: "array", items: { type: "integer", minimum: 0, maximum: 65535 }, default: [443], description: "Ports that may be open to the world." },
    },
  },
  validateStack: validateIngress((ingress, sources, args, report) => {
    const { allowedPorts = [443] } = args.getConfig<{ allowedPorts?: number[] }>();
    const width = ingress.toPort - ingress.fromPort + 1;
    const allowed =
      (ingress.protocol === "tcp" || ingress.protocol === "udp") &&
      width >= 1 &&
      width <= allowedPorts.length &&
      Array.from({ length: width }, (_, i) => ingress.fromPort + i).every((port) => allowedPorts.includes(port));
    if (allowed) return;
    for (const { cidr, via } of sources.filter((source) => isWorldOpen(source.cidr))) {
      report(`${ingress.label} opens ${describeRange(ingress)} to ${cidr}${via}; world-open ingress is allowed only on port${allowedPorts.length === 1 ? "" : "s"} ${joinWords(allowedPorts.map(String))}`);
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
      const description = group.type === DEFAULT_SECURITY_GROUP ? "default VPC security group" : unknowns.read(() => str(group.props.description), group);
      if (description !== UNKNOWN && (description === undefined || description.trim() === "" || description === SDK_DEFAULT_DESCRIPTION)) {
        reportViolation(`security group has no description (the default ${q(SDK_DEFAULT_DESCRIPTION)} does not count)`, group.urn);
      }
      const inline: string[] = [];
      for (const direction of ["ingress", "egress"] as const) {
        if (!(direction in group.props)) continue;
        inline.push(direction);
        const entries = unknowns.read(() => list(group.props[direction]).map((raw) => str(record(raw)?.description)), group);
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
      const description = unknowns.read(() => str(rule.props.description), rule);
      if (description !== UNKNOWN && (description === undefined || description.trim() === "")) reportViolation("security group rule has no description", rule.urn);
    }
    unknowns.rethrow();
  },
};

/** The network rules, in table order. */
export const networkPolicies = [sgNoWorldAdminPorts, sgNoWorldRiskyPorts, sgWorldIngressAllowlist, sgHygiene];
