/**
 * The client's address, for throttling and the audit trail.
 *
 * Without trusted proxies it is the socket's peer. Behind proxies, each one appends the address it received the
 * request from to X-Forwarded-For, so only the right-most entries were written by proxies we trust; everything to
 * their left is whatever the client sent. With GATEHOUSE_TRUST_PROXY_HOPS = N the client is the N-th entry from
 * the right (the one the outermost trusted proxy appended), never the left-most (which the client chooses).
 * An entry that is not an IP address (net.isIP) is not believed: the socket's peer is used instead.
 */
import { isIP } from 'node:net';
import type { Context, Next } from 'koa';

/** `::ffff:192.0.2.1` (an IPv4 client on a dual-stack socket) is `192.0.2.1`; brackets and zone ids are dropped. */
export function normaliseAddress(address: string): string {
  let value = address.trim();
  if (value.startsWith('[') && value.endsWith(']')) value = value.slice(1, -1);
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(value);
  if (mapped && isIP(mapped[1]!) === 4) return mapped[1]!;
  return isIP(value) === 6 ? value.toLowerCase() : value;
}

/**
 * The client address given the socket's peer, the X-Forwarded-For value (Node joins repeated headers with
 * ", ") and how many proxies in front of us are trusted.
 */
export function clientAddress(socketAddress: string | undefined, forwardedFor: string | undefined, trustedHops: number): string {
  const peer = normaliseAddress(socketAddress ?? '');
  if (trustedHops === 0 || forwardedFor === undefined || forwardedFor === '') return peer;
  const entries = forwardedFor.split(',').map((entry) => entry.trim());
  // Fewer entries than trusted hops: the request skipped a proxy; the left-most entry was still written by one
  // (any further left would be the client's own). This is what proxy-addr (Express) does as well.
  const chosen = normaliseAddress(entries[Math.max(0, entries.length - trustedHops)] ?? '');
  return isIP(chosen) === 0 ? peer : chosen;
}

/**
 * The key that throttling counts an address under: an IPv4 address as is, an IPv6 address by its /64 prefix,
 * since one subscriber usually gets a whole /64 and could otherwise rotate through 2^64 addresses.
 */
export function throttleAddress(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head = '', tail = ''] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (::a.b.c.d) is two groups; the /64 never reaches it unless the address is mostly zeros.
  const width = (groups: string[]) => groups.reduce((n, group) => n + (group.includes('.') ? 2 : 1), 0);
  const groups = address.includes('::') ? [...left, ...Array(8 - width(left) - width(right)).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((group) => (parseInt(group, 16) || 0).toString(16)).join(':')}::/64`;
}

/** Koa middleware: sets ctx.ip once, first thing, so that every later reader sees the same address. */
export function resolveClientAddress(trustedHops: number) {
  return async function clientIp(ctx: Context, next: Next): Promise<void> {
    ctx.request.ip = clientAddress(ctx.req.socket.remoteAddress, ctx.get('x-forwarded-for') || undefined, trustedHops);
    await next();
  };
}
