/** Web origins registered per public client, for CORS on /token and /revoke. */
import { isLoopbackHost } from '../config.js';
import { InvalidInput } from '../errors.js';

/**
 * RFC 6454 §6.1: an origin is serialised as scheme "://" host [ ":" port ], the form a browser sends in `Origin`,
 * so a registered value must be exactly that (lower case, no default port, no path, no trailing slash) to ever
 * match. https only, except loopback hosts for development, as for the issuer itself.
 */
export function parseOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidInput(`origin must be scheme://host[:port]: ${value}`);
  }
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
  if (!secure) throw new InvalidInput(`origin must use https (http only for loopback hosts): ${value}`);
  if (url.origin !== value) {
    throw new InvalidInput(`origin must be exactly scheme://host[:port] as a browser sends it (here ${url.origin}), without path or trailing slash: ${value}`);
  }
  return value;
}
