/** Redirect URIs registered per client: where authorization codes, and the user after a logout, may be sent. */
import { isLoopbackHost } from '../config.js';
import { InvalidInput } from '../errors.js';

/**
 * RFC 6749 §3.1.2: "The redirection endpoint URI MUST be an absolute URI", and "MUST NOT include a fragment
 * component". RFC 9700 §2.1: redirect URIs are compared by exact string matching, so a registered value must be
 * written exactly as clients will send it (the form URL parsing gives it: lower-case host, no default port, a
 * path of at least "/"). https only, or http on a loopback host for development and native apps (RFC 8252 §7.3).
 */
export function parseRedirectUri(value: string, what = 'redirect URI'): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidInput(`${what} must be an absolute URI: ${value}`);
  }
  if (value.includes('#')) throw new InvalidInput(`${what} must not have a fragment (RFC 6749 §3.1.2): ${value}`);
  if (url.username !== '' || url.password !== '') throw new InvalidInput(`${what} must not carry credentials: ${value}`);
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
  if (!secure) throw new InvalidInput(`${what} must use https (http only for loopback hosts): ${value}`);
  if (value.length > 2000) throw new InvalidInput(`${what} must be at most 2000 characters`);
  if (url.href !== value) throw new InvalidInput(`${what} must be written exactly as clients send it, here ${url.href}: ${value}`);
  return value;
}

/** The origins of redirect URIs: the pages that receive a code and then redeem it at /token (CORS). */
export function redirectOrigins(redirectUris: readonly string[]): string[] {
  return redirectUris.map((uri) => new URL(uri).origin);
}
