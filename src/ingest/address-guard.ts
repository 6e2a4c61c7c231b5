// SSRF guard: which IP addresses an upstream fetch may connect to.
// Hand-written on node:net's BlockList (no dependency) because the embedded-IPv4 forms
// (IPv4-mapped, NAT64, 6to4) need unwrapping that BlockList does not do for all of them.

import { BlockList, isIP } from 'node:net';
import type { LookupAddress, LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { ForbiddenSourceError } from '../errors.ts';

/** IANA special-purpose IPv4 ranges that are not globally reachable (or are unsafe to reach). */
const BLOCKED_IPV4_SUBNETS: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8], // RFC 1918
  ['100.64.0.0', 10], // CGNAT shared address space
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12], // RFC 1918
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // RFC 1918
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, incl. broadcast 255.255.255.255
];

const BLOCKED_IPV6_SUBNETS: ReadonlyArray<readonly [string, number]> = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::', 96], // deprecated IPv4-compatible addresses
  ['::ffff:0:0:0', 96], // IPv4-translated (SIIT)
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard-only
  ['2001::', 23], // IETF protocol assignments (Teredo, ORCHID, ...)
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation
  ['5f00::', 16], // SRv6 SIDs
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // deprecated site-local
  ['ff00::', 8], // multicast
];

const blockedIpv4 = new BlockList();
for (const [network, prefix] of BLOCKED_IPV4_SUBNETS) blockedIpv4.addSubnet(network, prefix, 'ipv4');
const blockedIpv6 = new BlockList();
for (const [network, prefix] of BLOCKED_IPV6_SUBNETS) blockedIpv6.addSubnet(network, prefix, 'ipv6');

/** The eight 16-bit groups of a valid IPv6 address (zone id already removed). */
function ipv6Groups(address: string): number[] {
  let text = address;
  let tail: number[] = [];
  // A trailing dotted quad (::ffff:1.2.3.4) stands for the last two groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    tail = [(a << 8) | b, (c << 8) | d];
    text = text.slice(0, dotted.index);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const [head = '', rest] = text.split('::') as [string, string | undefined];
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  const missing = 8 - tail.length - left.length - right.length;
  return [...left, ...(rest === undefined ? [] : new Array<number>(Math.max(missing, 0)).fill(0)), ...right, ...tail];
}

function embeddedIpv4(high: number, low: number): string {
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

/** True when the SSRF guard must refuse a connection to `address` (an IP literal; anything else fails closed). */
export function isBlockedAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return blockedIpv4.check(bare, 'ipv4');
  if (family !== 6) return true;
  const groups = ipv6Groups(bare);
  if (groups.length !== 8) return true;
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [number, number, number, number, number, number, number, number];
  const firstFiveZero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) reach the embedded IPv4 address.
  if (firstFiveZero && g5 === 0xffff) return blockedIpv4.check(embeddedIpv4(g6, g7), 'ipv4');
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return blockedIpv4.check(embeddedIpv4(g6, g7), 'ipv4');
  }
  // 6to4 (2002:aabb:ccdd::/48) tunnels to the embedded IPv4 address.
  if (g0 === 0x2002 && blockedIpv4.check(embeddedIpv4(g1, g2), 'ipv4')) return true;
  return blockedIpv6.check(bare, 'ipv6');
}

/** Address policy of one fetcher: `null` when the guard is off. */
export interface AddressGuard {
  isBlocked(address: string): boolean;
}

export function createAddressGuard(options: { allowPrivateUpstreams: boolean; guardExemptAddresses?: readonly string[] | undefined }): AddressGuard | null {
  if (options.allowPrivateUpstreams) return null;
  const exempt = new Set((options.guardExemptAddresses ?? []).map(normalizeAddress));
  return { isBlocked: (address) => !exempt.has(normalizeAddress(address)) && isBlockedAddress(address) };
}

function normalizeAddress(address: string): string {
  return address.replace(/^\[|\]$/g, '').replace(/%.*$/, '').toLowerCase();
}

export function forbiddenAddressError(host: string): ForbiddenSourceError {
  // The resolved address is deliberately left out: it would disclose internal DNS to the caller.
  return new ForbiddenSourceError(`Upstream host ${host} resolves to a private, loopback or otherwise internal address; the server's operator can allow internal upstreams with ALLOW_PRIVATE_UPSTREAMS=true (trusted networks only)`, { host });
}

/**
 * Wraps a dns.lookup-compatible function so that a name resolving to any blocked address
 * fails before connecting (catches internal names and DNS rebinding at connect time).
 */
export function createGuardedLookup(guard: AddressGuard, baseLookup: LookupFunction): LookupFunction {
  return (hostname, options: LookupOptions, callback) => {
    baseLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) {
        callback(err, '', 0);
        return;
      }
      const list: LookupAddress[] = Array.isArray(addresses) ? addresses : [{ address: addresses, family: isIP(addresses) }];
      const first = list[0];
      if (first === undefined) {
        const notFound: NodeJS.ErrnoException = new Error(`No address for ${hostname}`);
        notFound.code = 'ENOTFOUND';
        callback(notFound, '', 0);
        return;
      }
      if (list.some((entry) => guard.isBlocked(entry.address))) {
        callback(forbiddenAddressError(hostname), '', 0);
        return;
      }
      if (options.all) callback(null, list);
      else callback(null, first.address, first.family);
    });
  };
}
