// The firewall: CIDRs, ports and what counts as open to the world.
// Bad input is the point of these tests: fixtures are bent into shapes no type describes.
/* eslint-disable @typescript-eslint/no-unsafe-member-access */
import { describe, expect, it } from "vitest";
import { WORLD_CLOSED_PORTS } from "../../components/config";
import { ADMIN_PORTS, RISKY_PORTS } from "../../policies/network-rules";
import { ingressWith, P, parse, problems, withChange } from "../support/config-values";

describe("config: bad input is refused with every problem, its key and the expectation", () => {
  it("refuses malformed CIDRs: host bits set, not an address, prefix too long", () => {
    const v = ingressWith({ cidrs: ["203.0.113.7/24", "203.0.113/24", "203.0.113.0/33", "256.0.0.0/8", "2001:db8::1/32", "2001:db8::/129", "2001:zz8::/32", "10.0.0.0"] });
    expect(problems(v)).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: host bits set in 203.0.113.7/24; use the network address`,
      `${P}:firewall.ingress[0].cidrs[1]: expected a CIDR block such as 203.0.113.0/24, got "203.0.113/24"`,
      `${P}:firewall.ingress[0].cidrs[2]: prefix length must be 0 to 32 in 203.0.113.0/33`,
      `${P}:firewall.ingress[0].cidrs[3]: expected a CIDR block such as 203.0.113.0/24, got "256.0.0.0/8"`,
      `${P}:firewall.ingress[0].cidrs[4]: host bits set in 2001:db8::1/32; use the network address`,
      `${P}:firewall.ingress[0].cidrs[5]: prefix length must be 0 to 128 in 2001:db8::/129`,
      `${P}:firewall.ingress[0].cidrs[6]: expected a CIDR block such as 2001:db8::/32, got "2001:zz8::/32"`,
      `${P}:firewall.ingress[0].cidrs[7]: expected a CIDR block such as 203.0.113.0/24, got "10.0.0.0"`,
    ]);
  });

  it("refuses the world reaching SSH or RDP, on IPv4 and IPv6", () => {
    expect(problems(ingressWith({ fromPort: 22, toPort: 22, cidrs: ["0.0.0.0/0", "::/0"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: 0.0.0.0/0 may not reach port 22`,
      `${P}:firewall.ingress[0].cidrs[1]: ::/0 may not reach port 22`,
    ]);
    expect(problems(ingressWith({ fromPort: 3389, toPort: 3389, cidrs: ["0.0.0.0/0"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: 0.0.0.0/0 may not reach port 3389`,
    ]);
  });

  it("refuses port ranges that include an admin or database port", () => {
    expect(problems(ingressWith({ fromPort: 3000, toPort: 3400, cidrs: ["0.0.0.0/0"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: 0.0.0.0/0 may not reach ports 3306 and 3389`,
    ]);
    expect(problems(ingressWith({ protocol: "udp", fromPort: 5432, toPort: 5432, cidrs: ["::/0"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: ::/0 may not reach port 5432`,
    ]);
  });

  it("refuses world-open all-protocol rules, whatever their ports say", () => {
    expect(problems(ingressWith({ protocol: "-1", fromPort: 443, toPort: 443, cidrs: ["0.0.0.0/0"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: 0.0.0.0/0 may not reach every port (protocol -1); allow-list the ports it needs`,
    ]);
  });

  it("counts blocks wider than /8 (IPv4) or /7 (IPv6) as open to the world", () => {
    expect(problems(ingressWith({ fromPort: 22, toPort: 22, cidrs: ["0.0.0.0/1", "128.0.0.0/1", "2000::/3"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: 0.0.0.0/1 covers most of the internet; write 0.0.0.0/0 if the world is meant, so every check sees it`,
      `${P}:firewall.ingress[0].cidrs[0]: 0.0.0.0/1 may not reach port 22`,
      `${P}:firewall.ingress[0].cidrs[1]: 128.0.0.0/1 covers most of the internet; write 0.0.0.0/0 if the world is meant, so every check sees it`,
      `${P}:firewall.ingress[0].cidrs[1]: 128.0.0.0/1 may not reach port 22`,
      `${P}:firewall.ingress[0].cidrs[2]: 2000::/3 covers most of the internet; write ::/0 if the world is meant, so every check sees it`,
      `${P}:firewall.ingress[0].cidrs[2]: 2000::/3 may not reach port 22`,
    ]);
    // Even on HTTPS: the world split in halves would slip past the policy pack's /0 checks.
    expect(problems(ingressWith({ fromPort: 443, toPort: 443, cidrs: ["0.0.0.0/1", "10.0.0.0/8"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: 0.0.0.0/1 covers most of the internet; write 0.0.0.0/0 if the world is meant, so every check sees it`,
    ]);
  });

  it("refuses impossible ports and ranges", () => {
    expect(problems(ingressWith({ fromPort: 8443, toPort: 443 }))).toEqual([`${P}:firewall.ingress[0].fromPort: must not exceed toPort (8443 > 443)`]);
    expect(problems(ingressWith({ fromPort: -1, toPort: 70000 }))).toEqual([
      `${P}:firewall.ingress[0].fromPort: expected a port from 0 to 65535`,
      `${P}:firewall.ingress[0].toPort: expected a port from 0 to 65535`,
    ]);
    expect(problems(ingressWith({ fromPort: 44.3 }))).toEqual([`${P}:firewall.ingress[0].fromPort: expected an integer port, got 44.3`]);
    const egress = withChange((c) => {
      c[`${P}:firewall`].egress = [{ description: "HTTPS", fromPort: 444, toPort: 443, cidrs: ["10.0.0.0/16"] }];
    });
    expect(problems(egress)).toEqual([`${P}:firewall.egress[0].fromPort: must not exceed toPort (444 > 443)`]);
  });

  it("refuses firewall rules without a description, CIDRs or ingress", () => {
    expect(problems(ingressWith({ description: "", cidrs: [] }))).toEqual([
      `${P}:firewall.ingress[0].description: expected a description`,
      `${P}:firewall.ingress[0].cidrs: expected at least one CIDR`,
    ]);
    const none = withChange((c) => {
      c[`${P}:firewall`].ingress = [];
    });
    expect(problems(none)).toEqual([`${P}:firewall.ingress: expected at least one ingress rule`]);
  });
});

describe("config: other spellings of bad input are refused too", () => {
  it("refuses IPv4-mapped IPv6 blocks, which spell IPv4 ranges past the width check", () => {
    expect(problems(ingressWith({ fromPort: 22, toPort: 22, cidrs: ["::ffff:0:0/96", "::ffff:cb00:7100/120"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: ::ffff:0:0/96 is an IPv4-mapped IPv6 block; write IPv4 blocks as IPv4 (e.g. 203.0.113.0/24)`,
      `${P}:firewall.ingress[0].cidrs[1]: ::ffff:cb00:7100/120 is an IPv4-mapped IPv6 block; write IPv4 blocks as IPv4 (e.g. 203.0.113.0/24)`,
    ]);
    expect(() => parse(ingressWith({ fromPort: 22, toPort: 22, cidrs: ["2001:db8::/32", "64:ff9b::/96"] }))).not.toThrow();
  });

  it("refuses a prefix length with leading zeros, and still names the world behind it", () => {
    expect(problems(ingressWith({ fromPort: 22, toPort: 22, cidrs: ["0.0.0.0/00", "10.0.0.0/08"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: expected a CIDR block such as 203.0.113.0/24, got "0.0.0.0/00"`,
      `${P}:firewall.ingress[0].cidrs[1]: expected a CIDR block such as 203.0.113.0/24, got "10.0.0.0/08"`,
      `${P}:firewall.ingress[0].cidrs[0]: 0.0.0.0/00 may not reach port 22`,
    ]);
  });

  it("refuses the world on SSH in every spelling of ::/0", () => {
    expect(problems(ingressWith({ fromPort: 22, toPort: 22, cidrs: ["::0/0", "0::0/0", "0:0:0:0:0:0:0:0/0"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: ::0/0 may not reach port 22`,
      `${P}:firewall.ingress[0].cidrs[1]: 0::0/0 may not reach port 22`,
      `${P}:firewall.ingress[0].cidrs[2]: 0:0:0:0:0:0:0:0/0 may not reach port 22`,
    ]);
  });
});

describe("config: world-open ports", () => {
  it("refuses at least every port the policy pack refuses", () => {
    expect([...ADMIN_PORTS, ...RISKY_PORTS].filter((port) => !WORLD_CLOSED_PORTS.includes(port))).toEqual([]);
    expect(problems(ingressWith({ fromPort: 6443, toPort: 6443, cidrs: ["0.0.0.0/0", "2000::/3"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: 0.0.0.0/0 may not reach port 6443`,
      `${P}:firewall.ingress[0].cidrs[1]: 2000::/3 covers most of the internet; write ::/0 if the world is meant, so every check sees it`,
      `${P}:firewall.ingress[0].cidrs[1]: 2000::/3 may not reach port 6443`,
    ]);
    expect(problems(ingressWith({ fromPort: 10250, toPort: 10250, cidrs: ["::/0"] }))).toEqual([`${P}:firewall.ingress[0].cidrs[0]: ::/0 may not reach port 10250`]);
    expect(() => parse(ingressWith({ fromPort: 6443, toPort: 6443, cidrs: ["10.20.0.0/16"] }))).not.toThrow();
  });
});
