/**
 * Client authentication at /token, /introspect and /revoke (RFC 6749 §2.3.1): client_secret_basic, with id and
 * secret form-urlencoded before base64, or client_secret_post. Exactly one method per request (RFC 6749 §2.3).
 * A public client has no secret and names itself with client_id in the body alone (method "none", RFC 7591 §2).
 */
import type { Context } from 'koa';
import type { Deps } from '../deps.js';
import { foreignOrigin, invalidClient, invalidRequest, tooManyAttempts, type OAuthError } from '../errors.js';
import { hexDigestsEqual, sha256Hex } from '../lib/crypto.js';
import { decodeFormString, FormDecodeError } from '../lib/form-urlencoded.js';
import { noteRequest } from '../observability/request-scope.js';
import type { ClientRecord } from '../storage/clients.js';
import type { FormParams } from './form.js';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

export type ClientCredentials =
  | { clientId: string; secret: string; method: 'client_secret_basic' | 'client_secret_post' }
  | { clientId: string; method: 'none' };

/** Compared against when the client does not exist, so both paths do the same work. */
const NO_CLIENT_HASH = sha256Hex('gatehouse: no such client');

/** Parses `Authorization: Basic …`; returns undefined when the header is absent. */
export function parseBasicCredentials(header: string | undefined): { clientId: string; secret: string } | undefined {
  if (header === undefined || header === '') return undefined;
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!match) throw invalidClient('malformed or non-Basic Authorization header');
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) throw invalidClient('Basic credentials without a colon');
  try {
    return { clientId: decodeFormString(decoded.slice(0, colon)), secret: decodeFormString(decoded.slice(colon + 1)) };
  } catch (error) {
    if (error instanceof FormDecodeError) throw invalidClient('Basic credentials are not form-urlencoded');
    throw error;
  }
}

export function readClientCredentials(ctx: Context, form: FormParams): ClientCredentials {
  const basic = parseBasicCredentials(ctx.get('authorization'));
  const postId = form.get('client_id');
  const postSecret = form.get('client_secret');
  if (basic) {
    // RFC 6749 §2.3: "MUST NOT use more than one authentication method in each request".
    if (postSecret !== undefined) throw invalidRequest('Use one client authentication method, not Basic and client_secret together');
    if (postId !== undefined && postId !== basic.clientId) throw invalidRequest('client_id in the body differs from the Basic credentials');
    return { ...basic, method: 'client_secret_basic' };
  }
  if (postId !== undefined && postSecret !== undefined) return { clientId: postId, secret: postSecret, method: 'client_secret_post' };
  if (postId !== undefined) return { clientId: postId, method: 'none' };
  throw invalidClient('no client credentials');
}

/** A client row the caller read already, with what else it needed (storage/token-state.ts callerAndTokenState). */
export interface PrereadClient {
  id: string;
  client: ClientRecord | undefined;
}

/**
 * Authenticates the client of a request. Unknown client, wrong secret and disabled client give one identical
 * answer. Secrets are 256-bit random values, so a fast hash compared in constant time is enough: no slow hash
 * belongs on the introspection path. `preread`: the row of the client named `preread.id`, read already; used
 * when the request names that client.
 */
export async function authenticateClient(
  ctx: Context,
  form: FormParams,
  deps: Pick<Deps, 'store' | 'throttle' | 'clock' | 'metrics'>,
  preread?: PrereadClient,
): Promise<ClientRecord> {
  const credentials = readClientCredentials(ctx, form);
  // An address blocked by earlier failures (as far as this instance knows: no database read on the hot path).
  const wait = deps.throttle.clientAddressWait(ctx.ip);
  if (wait > 0) {
    noteRequest({ throttle: 'address-blocked' });
    deps.metrics.throttled('address-blocked');
    throw tooManyAttempts(wait);
  }
  const client =
    credentials.clientId.length > 128 ? undefined : preread?.id === credentials.clientId ? preread.client : await deps.store.clients.find(credentials.clientId);
  // A browser names the page that sent the request in Origin (`null` for opaque origins: sandboxed frames, data:
  // URLs). A request from a page the client did not register is refused before any secret or password is checked
  // or counted: otherwise any web page could post a form here and run up the counters of its visitor's address.
  const origin = ctx.headers.origin;
  if (origin !== undefined && !client?.origins.includes(origin)) throw foreignOrigin();
  // RFC 6749 §2.1: a public client cannot authenticate; client_id alone is accepted only from a client registered
  // as public, and a public client has no secret to present any other way (its secretHash is null).
  if (credentials.method === 'none') {
    if (!client || !client.publicClient || client.disabledAt !== null) throw await failed(deps, credentials.clientId, ctx.ip, 'client_id alone, and not an enabled public client');
    noteRequest({ clientId: client.id });
    return client;
  }
  const presented = sha256Hex(credentials.secret);
  const current = hexDigestsEqual(presented, client?.secretHash ?? NO_CLIENT_HASH);
  // During a rotation (`gatehouse clients rotate-secret --overlap`), the previous secret works until its end.
  const previous =
    hexDigestsEqual(presented, client?.previousSecretHash ?? NO_CLIENT_HASH) && deps.clock.now() < (client?.previousSecretExpiresAt ?? 0);
  if (!client || !(current || previous) || client.secretHash === null || client.disabledAt !== null) {
    throw await failed(deps, credentials.clientId, ctx.ip, client ? 'wrong secret or disabled client' : 'unknown client');
  }
  noteRequest({ clientId: client.id });
  return client;
}

/** Counts the failure; the answer is invalid_client, or 429 while this client or address is blocked. */
async function failed(deps: Pick<Deps, 'throttle' | 'metrics'>, clientId: string, ip: string, debug: string): Promise<OAuthError> {
  const wait = await deps.throttle.clientFailed(clientId, ip);
  if (wait === 0) return invalidClient(debug);
  noteRequest({ throttle: 'blocked' });
  deps.metrics.throttled('client');
  return tooManyAttempts(wait);
}
