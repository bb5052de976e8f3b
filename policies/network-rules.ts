/**
 * What "open to the world" means and which ports must never be: one definition, used by the policy
 * pack (policies/aws-network.ts) and by the stack config's validation (components/config/), so a
 * config the program accepts is never one the pack refuses, and the other way round. Plain data and
 * functions, no dependencies.
 */

/** Remote administration: SSH and RDP. */
export const ADMIN_PORTS: readonly number[] = [22, 3389];

/**
 * Ports commonly exposed by mistake: file transfer, Telnet, mail relay, RPC/NetBIOS/SMB, databases,
 * caches and search engines, Docker, the cluster's control plane (Kubernetes API, kubelet, etcd), VNC.
 */
export const RISKY_PORTS: readonly number[] = [
  20, 21, 23, 25, 135, 139, 445, 1433, 1521, 2375, 2376, 2379, 2380, 3306, 5432, 5601, 5900, 6379, 6443, 9200, 9300, 10250, 11211, 27017,
];

/** True for IPv4 written as an IPv4-mapped IPv6 block (`::ffff:a.b.c.d/n`, `::ffff:0:0/96`). */
export function isIpv4Mapped(cidr: string): boolean {
  return /^\s*(0{0,4}:){0,5}:?ffff:/i.test(cidr);
}

/**
 * True for a CIDR block that opens to the internet at large: every address (`0.0.0.0/0`, `::/0`),
 * or a block so wide that a few of them add up to it (`0.0.0.0/1` + `128.0.0.0/1`): wider than /8
 * for IPv4, wider than /7 for IPv6 (fc00::/7 is private), and IPv4 written as IPv4-mapped IPv6
 * (`::ffff:0:0/96` is all of IPv4).
 */
export function isWorldOpen(cidr: string): boolean {
  const match = /^\s*([^/\s]+)\/(\d+)\s*$/.exec(cidr);
  if (!match) return false;
  const address = match[1] ?? "";
  const prefix = Number(match[2]);
  if (!address.includes(":")) return prefix < 8;
  if (isIpv4Mapped(address)) return prefix < 96 + 8;
  return prefix < 7;
}
