/**
 * Reading GET /authorize (RFC 6749 §4.1.1) with PKCE (RFC 7636). Where the request fails decides how the user
 * hears of it (§4.1.2.1): without a valid client_id and one of its registered redirect URIs, the error is shown to
 * the user and never redirected (an open redirector otherwise); after that, errors go back to the client.
 */
import type { Deps } from '../deps.js';
import { invalidRequest, OAuthError, unauthorizedClient, unsupportedResponseType } from '../errors.js';
import { ADMIN_SCOPE, resolveAudience, resolveScope } from '../grants/shared.js';
import { FormDecodeError, parseQuery, printable } from '../lib/form-urlencoded.js';
import type { ClientRecord } from '../storage/clients.js';

export interface AuthorizationRequest {
  client: ClientRecord;
  redirectUri: string;
  state: string | undefined;
  /** RFC 7636 §4.2, S256 only. */
  codeChallenge: string;
  scope: string[];
  /** RFC 8707 `resource`, or the client's default audience. */
  audience: string;
  /** OpenID Connect's prompt: `login` forces the password, `none` forbids any page. */
  prompt: 'login' | 'none' | undefined;
  /** OpenID Connect's max_age: the password must have been checked at most this many seconds ago. */
  maxAge: number | undefined;
}

export type ReadRequest =
  | { kind: 'ok'; request: AuthorizationRequest }
  /** Shown to the user: no trustworthy redirect URI. */
  | { kind: 'show'; error: OAuthError }
  /** Sent to the client's redirect URI. */
  | { kind: 'redirect'; redirectUri: string; state: string | undefined; error: OAuthError };

/** RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is always 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export async function readAuthorizationRequest(deps: Pick<Deps, 'store' | 'issuer'>, querystring: string): Promise<ReadRequest> {
  let parsed: ReturnType<typeof parseQuery>;
  try {
    parsed = parseQuery(Buffer.from(querystring, 'latin1'));
  } catch (error) {
    if (error instanceof FormDecodeError) return { kind: 'show', error: invalidRequest('The request is malformed') };
    throw error;
  }
  const { params, repeated } = parsed;
  const clientId = params.get('client_id');
  if (clientId === undefined || repeated.has('client_id')) return { kind: 'show', error: invalidRequest('The request does not name exactly one client') };
  const client = clientId.length <= 128 ? await deps.store.clients.find(clientId) : undefined;
  if (!client || client.disabledAt !== null) return { kind: 'show', error: invalidRequest('The app that sent you here is not known to Gatehouse') };
  const redirectUri = params.get('redirect_uri');
  // RFC 9700 §4.1.3: the redirect URI is compared to the registered ones by exact string matching. Gatehouse
  // requires it in every request (OAuth 2.1 allows that), so the token request can always be bound to it.
  if (redirectUri === undefined || repeated.has('redirect_uri') || !client.redirectUris.includes(redirectUri)) {
    return { kind: 'show', error: invalidRequest('The address to send you back to is not registered for this app') };
  }
  const state = repeated.has('state') ? undefined : params.get('state');
  try {
    return { kind: 'ok', request: validate(params, repeated, client, redirectUri, state, deps.issuer) };
  } catch (error) {
    if (error instanceof OAuthError) return { kind: 'redirect', redirectUri, state, error };
    throw error;
  }
}

/** The rest of the request, once the client and its redirect URI are known good; throws the error to send back. */
function validate(
  params: ReadonlyMap<string, string>,
  repeated: ReadonlySet<string>,
  client: ClientRecord,
  redirectUri: string,
  state: string | undefined,
  issuer: string,
): AuthorizationRequest {
  // RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once."
  const [twice] = repeated;
  if (twice !== undefined) throw invalidRequest(`Parameter repeated: ${printable(twice)}`);
  const responseType = params.get('response_type');
  if (responseType === undefined) throw invalidRequest('response_type is required');
  // RFC 6749 §4.1.1: "Value MUST be set to code"; implicit (token) is gone in RFC 9700 §2.1.2.
  if (responseType !== 'code') throw unsupportedResponseType('Only response_type=code is supported');
  if (!client.grantTypes.includes('authorization_code')) throw unauthorizedClient('This client may not use the authorization code flow');
  // RFC 7636 §4.4.1: a server that requires PKCE answers a request without it with invalid_request; RFC 9700
  // §2.1.1: S256, never plain (which the RFC makes the default when the method is omitted).
  const challenge = params.get('code_challenge');
  if (challenge === undefined) throw invalidRequest('code_challenge is required (PKCE with S256)');
  if (params.get('code_challenge_method') !== 'S256') throw invalidRequest('code_challenge_method must be S256');
  if (!S256_CHALLENGE.test(challenge)) throw invalidRequest('code_challenge must be 43 base64url characters');
  const scope = resolveScope(params, client.scope.filter((token) => token !== ADMIN_SCOPE));
  const audience = resolveAudience(params, client, issuer);
  const prompt = params.get('prompt');
  if (prompt !== undefined && prompt !== 'login' && prompt !== 'none') throw invalidRequest('prompt must be login or none');
  const maxAge = params.get('max_age');
  if (maxAge !== undefined && !/^\d{1,9}$/.test(maxAge)) throw invalidRequest('max_age must be a whole number of seconds');
  return { client, redirectUri, state, codeChallenge: challenge, scope, audience, prompt, maxAge: maxAge === undefined ? undefined : Number(maxAge) };
}
