/** Requests to the token and revocation endpoints, with fetch only, so this runs in browsers and in Node. */
import { LoginFailedError, SessionEndedError, TokenEndpointError } from './errors.js';

export interface ClientIdentity {
  clientId: string;
  /** Only for confidential clients (server-side code). A browser app is a public client and has no secret. */
  clientSecret?: string | undefined;
}

/** The tokens a client holds. Times are epoch milliseconds. */
export interface TokenSet {
  accessToken: string;
  /** Absent when the client has no refresh_token grant. */
  refreshToken: string | undefined;
  /** From `expires_in` (RFC 6749 §5.1), for renewing ahead of expiry; the token itself is never read. */
  expiresAtMs: number | undefined;
  scope: string | undefined;
}

/** application/x-www-form-urlencoded of one value: RFC 6749 §2.3.1 encodes the id and secret before Basic. */
const formEncode = (value: string): string => new URLSearchParams({ v: value }).toString().slice(2);

export async function postForm(
  fetchImpl: typeof fetch,
  url: string,
  client: ClientIdentity,
  params: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
  const form = new URLSearchParams(params);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (client.clientSecret === undefined) {
    // A public client names itself in the body (RFC 6749 §2.3.1 / §3.2.1: "client_id" for unauthenticated clients).
    form.set('client_id', client.clientId);
  } else {
    headers.authorization = `Basic ${btoa(`${formEncode(client.clientId)}:${formEncode(client.clientSecret)}`)}`;
  }
  let response: Response;
  try {
    response = await fetchImpl(url, { method: 'POST', headers, body: form.toString() });
  } catch (error) {
    throw new TokenEndpointError(`${url} cannot be reached: ${error instanceof Error ? error.message : String(error)}`);
  }
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body: typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined };
}

const errorCode = (body: Record<string, unknown> | undefined): string | undefined => (typeof body?.error === 'string' ? body.error : undefined);

/** RFC 6749 §5.1 → a TokenSet; `previousRefreshToken` is kept when no new one comes back. */
function toTokenSet(body: Record<string, unknown> | undefined, nowMs: number, previousRefreshToken?: string): TokenSet {
  if (typeof body?.access_token !== 'string' || typeof body.token_type !== 'string' || body.token_type.toLowerCase() !== 'bearer') {
    throw new TokenEndpointError('the token endpoint answered 200 without a Bearer access_token', 200);
  }
  const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : undefined;
  return {
    accessToken: body.access_token,
    refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : previousRefreshToken,
    expiresAtMs: expiresIn === undefined ? undefined : nowMs + expiresIn * 1000,
    scope: typeof body.scope === 'string' ? body.scope : undefined,
  };
}

function failure(what: string, status: number, body: Record<string, unknown> | undefined): TokenEndpointError {
  const code = errorCode(body);
  return new TokenEndpointError(`${what} failed: ${status}${code ? ` ${code}` : ''}`, status, code);
}

/** RFC 6749 §4.3: the password grant. */
export async function passwordGrant(
  fetchImpl: typeof fetch,
  tokenEndpoint: string,
  client: ClientIdentity,
  credentials: { username: string; password: string; scope?: string | undefined; resource?: string | undefined },
  nowMs: () => number,
): Promise<TokenSet> {
  const params: Record<string, string> = { grant_type: 'password', username: credentials.username, password: credentials.password };
  if (credentials.scope !== undefined) params.scope = credentials.scope;
  if (credentials.resource !== undefined) params.resource = credentials.resource;
  const { status, body } = await postForm(fetchImpl, tokenEndpoint, client, params);
  if (status === 200) return toTokenSet(body, nowMs());
  if (status === 400 && errorCode(body) === 'invalid_grant') throw new LoginFailedError('The username or password is incorrect');
  throw failure('login', status, body);
}

/** RFC 6749 §4.1.3 with RFC 7636 §4.5: redeeming an authorization code with its PKCE verifier. */
export async function authorizationCodeGrant(
  fetchImpl: typeof fetch,
  tokenEndpoint: string,
  client: ClientIdentity,
  grant: { code: string; redirectUri: string; verifier: string },
  nowMs: () => number,
): Promise<TokenSet> {
  const params = { grant_type: 'authorization_code', code: grant.code, redirect_uri: grant.redirectUri, code_verifier: grant.verifier };
  const { status, body } = await postForm(fetchImpl, tokenEndpoint, client, params);
  if (status === 200) return toTokenSet(body, nowMs());
  if (status === 400 && errorCode(body) === 'invalid_grant') throw new LoginFailedError('The issuer refused the authorization code: start the login again');
  throw failure('login', status, body);
}

/**
 * RFC 6749 §6: one renewal. 400 invalid_grant means the session is gone (RFC 6749 §5.2); anything else leaves
 * the session as it was.
 */
export async function refreshGrant(fetchImpl: typeof fetch, tokenEndpoint: string, client: ClientIdentity, refreshToken: string, nowMs: () => number): Promise<TokenSet> {
  const { status, body } = await postForm(fetchImpl, tokenEndpoint, client, { grant_type: 'refresh_token', refresh_token: refreshToken });
  if (status === 200) return toTokenSet(body, nowMs(), refreshToken);
  if (status === 400 && errorCode(body) === 'invalid_grant') throw new SessionEndedError('The session has ended: log in again');
  throw failure('renewal', status, body);
}
