/** Shared checks for the grant and access-token tests (standards §2–§5): error shape, token responses, fresh users. */
import type { ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import type { World } from './fixtures.js';
import { decodeJwt, type Reply } from './http.js';

/** RFC 6749 §5.2: error and error_description stay within %x20-21 / %x23-5B / %x5D-7E. */
const ERROR_CHARS = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

/** A JSON error as RFC 6749 §5.2 defines it, with the TOK-17/TOK-18 cache headers. */
export function assertJsonError(t: ExecutionContext<unknown>, reply: Reply, status: number, error: string): void {
  t.is(reply.status, status, `expected ${status} ${error}, got ${reply.status} ${reply.text}`);
  t.regex(reply.headers.get('content-type') ?? '', /^application\/json/);
  t.is(reply.json?.error, error);
  t.is(reply.json?.access_token, undefined, 'no token in an error');
  t.is(reply.json?.refresh_token, undefined, 'no refresh token in an error');
  if (reply.json?.error_description !== undefined) t.regex(reply.json.error_description, ERROR_CHARS);
  t.regex(reply.headers.get('cache-control') ?? '', /no-store/);
  t.is(reply.headers.get('pragma'), 'no-cache');
}

/** A 200 token response (RFC 6749 §5.1) with the TOK-17 headers. Returns the decoded access token. */
export function assertTokenResponse(t: ExecutionContext<unknown>, reply: Reply): { header: any; payload: any } {
  t.is(reply.status, 200, `expected 200, got ${reply.status} ${reply.text}`);
  t.regex(reply.headers.get('content-type') ?? '', /^application\/json/);
  t.regex(reply.headers.get('cache-control') ?? '', /no-store/);
  t.is(reply.headers.get('pragma'), 'no-cache');
  t.is(typeof reply.json?.access_token, 'string');
  t.is(String(reply.json?.access_token).split('.').length, 3, 'access_token is a compact JWS');
  t.is(reply.json?.token_type, 'Bearer');
  t.true(Number.isSafeInteger(reply.json?.expires_in) && reply.json.expires_in > 0, 'expires_in is a positive integer');
  t.is(typeof reply.json?.scope, 'string');
  return decodeJwt(reply.json.access_token);
}

/** Headers without Date and X-Request-Id (each answer has its own), for byte-for-byte comparison of two answers. */
export function stableHeaders(headers: Headers): Array<[string, string]> {
  return [...headers].filter(([name]) => name !== 'date' && name !== 'x-request-id');
}

/** A user of its own, so tests that end sessions or disable users never touch another test's state. */
export async function freshUser(world: World, prefix = 'u'): Promise<{ username: string; password: string; id: string }> {
  const username = `${prefix}-${randomBytes(6).toString('hex')}`;
  const password = 'password-123';
  const { id } = await world.createUser(username, password);
  return { username, password, id };
}

/** Introspects `token` as rs-1 and says whether it is active; any inactive answer must be exactly {"active":false}. */
export async function isActive(t: ExecutionContext<unknown>, world: World, token: string): Promise<boolean> {
  const reply = await world.introspect(token);
  t.is(reply.status, 200, `introspection failed: ${reply.status} ${reply.text}`);
  if (reply.json?.active === true) return true;
  t.is(reply.text, '{"active":false}', 'an inactive token is exactly {"active":false}');
  return false;
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
