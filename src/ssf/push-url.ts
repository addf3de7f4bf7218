/**
 * Which push endpoints (RFC 8935) the transmitter will POST to, so that a receiver cannot turn the issuer into a
 * proxy to hosts only it can reach (SSRF):
 *
 * - https only; http only to a loopback host, and only when the issuer itself is on loopback (development);
 * - no userinfo (`https://user:pass@…`), no fragment, at most 2,048 characters;
 * - every address the host name resolves to must be public (not private, loopback, link-local, CGNAT, multicast,
 *   documentation, benchmarking, unspecified, IPv4-mapped/translated forms of those) unless the issuer is on
 *   loopback. Checked when the stream is created or updated (a clear 400), and again at every connection through
 *   the request's `lookup` (so a name that later resolves to an internal address, DNS rebinding, is refused
 *   then: the connection goes to the address that was checked, never to a second resolution);
 * - redirects are not followed (node:http never does).
 *
 * The same approach as the well-kept filters (request-filtering-agent, ssrf-req-filter, got's dnsLookup hook):
 * filter the resolved address at connect time, not the URL text. Our own code on node:net BlockList rather than a
 * dependency: the lists are short and the rules are the issuer's own (the loopback exception).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { isLoopbackHost } from '../config.js';

const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // shared address space, CGNAT (RFC 6598)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b::', 96], // IPv4/IPv6 translation (checked as IPv4 below, refused here too)
  ['64:ff9b:1::', 48], // local-use translation
  ['100::', 64], // discard-only
  ['2001::', 23], // IETF protocol assignments (Teredo, ORCHID, …)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: embeds an IPv4 address
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

/** An IPv4 address inside an IPv6 one (::ffff:a.b.c.d mapped, ::a.b.c.d compatible), else undefined. */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const high = parseInt(hex[1]!, 16);
    const low = parseInt(hex[2]!, 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return undefined;
}

/** Whether a literal IP address is one the issuer may connect to when it is not on loopback itself. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !blocked.check(address, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIpv4(address);
    if (v4 !== undefined) return isIP(v4) === 4 && !blocked.check(v4, 'ipv4');
    return !blocked.check(address, 'ipv6');
  }
  return false;
}

export class PushUrlRefused extends Error {}

export interface PushUrlPolicy {
  /** The issuer is on loopback (development): http to loopback and internal addresses are allowed. */
  issuerOnLoopback: boolean;
}

export const pushUrlPolicy = (issuer: string): PushUrlPolicy => ({ issuerOnLoopback: isLoopbackHost(new URL(issuer).hostname) });

/** The checks on the URL text. Throws PushUrlRefused with a message fit for the receiver. */
export function checkPushUrlSyntax(value: string, policy: PushUrlPolicy): URL {
  if (value.length > 2048) throw new PushUrlRefused('endpoint_url must be at most 2048 characters');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new PushUrlRefused('endpoint_url must be an absolute URL');
  }
  if (url.username !== '' || url.password !== '' || /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(value)) throw new PushUrlRefused('endpoint_url must not carry user information');
  if (value.includes('#')) throw new PushUrlRefused('endpoint_url must not have a fragment');
  if (url.protocol === 'http:') {
    if (!policy.issuerOnLoopback || !isLoopbackHost(url.hostname)) {
      throw new PushUrlRefused('endpoint_url must use https (http only to a loopback host, when the issuer itself is on loopback)');
    }
  } else if (url.protocol !== 'https:') {
    throw new PushUrlRefused('endpoint_url must be an https URL');
  }
  if (url.hostname === '') throw new PushUrlRefused('endpoint_url must name a host');
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (!policy.issuerOnLoopback && isIP(literal) !== 0 && !isPublicAddress(literal)) {
    throw new PushUrlRefused('endpoint_url must not point to a private, loopback or link-local address');
  }
  if (!policy.issuerOnLoopback && isLoopbackHost(url.hostname)) throw new PushUrlRefused('endpoint_url must not point to a loopback host');
  return url;
}

/**
 * `lookup` for node:http(s) requests to push endpoints: resolves as usual and refuses addresses that are not
 * public (unless the issuer is on loopback), so the connection can only go to an address that passed the check.
 */
export function guardedLookup(policy: PushUrlPolicy) {
  return (hostname: string, options: object, callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const allowed = policy.issuerOnLoopback ? addresses : addresses.filter((a) => isPublicAddress(a.address));
      if (allowed.length === 0) {
        const refused: NodeJS.ErrnoException = new Error(`${hostname} resolves to no public address`);
        refused.code = 'EADDRNOTPUBLIC';
        return callback(refused, '', 0);
      }
      if ((options as { all?: boolean }).all) return callback(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

/** The whole check at stream create/update: the URL text, then every address its host resolves to now. */
export async function checkPushUrl(value: string, policy: PushUrlPolicy): Promise<string> {
  const url = checkPushUrlSyntax(value, policy);
  if (policy.issuerOnLoopback) return url.toString();
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) return url.toString();
  const addresses = await new Promise<LookupAddress[]>((resolve) => dnsLookup(host, { all: true }, (error, found) => resolve(error ? [] : found)));
  if (addresses.length === 0) throw new PushUrlRefused('endpoint_url: the host name does not resolve');
  if (addresses.some((a) => !isPublicAddress(a.address))) throw new PushUrlRefused('endpoint_url must not point to a private, loopback or link-local address');
  return url.toString();
}
