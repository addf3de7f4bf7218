/**
 * The authorization code flow with PKCE from the app's side (RFC 6749 §4.1, RFC 7636, RFC 9207): building the
 * URL that sends the browser to the issuer, and checking what comes back before the code is redeemed.
 */
import { AuthorizationError, LoginResponseError } from './errors.js';
import { randomValue, s256Challenge } from './pkce.js';

/** Where startLogin() keeps the verifier until completeLogin(): sessionStorage, or anything shaped like it. */
export interface LoginStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface AuthorizationSettings {
  authorizationEndpoint: string;
  /** The issuer identifier, compared with the response's `iss` (RFC 9207 §2.4). */
  issuer: string;
  clientId: string;
  redirectUri: string;
  storage: LoginStorage;
}

export interface StartLoginOptions {
  /** A narrower scope than the client's default. */
  scope?: string;
  /** RFC 8707: the API the tokens are for, when the client has several. */
  resource?: string;
  /** `login`: ask for the password even if the user is logged in at the issuer; `none`: never show a page. */
  prompt?: 'login' | 'none';
  /** Ask for the password if it was last checked more than this many seconds ago. */
  maxAge?: number;
}

/** What startLogin() stored, under a key named after the state. */
interface PendingLogin {
  verifier: string;
  redirectUri: string;
  clientId: string;
}

const keyOf = (state: string) => `gatehouse.login.${state}`;

/** A new state and verifier, stored; returns the authorization URL to send the browser to. */
export async function buildAuthorizationUrl(settings: AuthorizationSettings, options: StartLoginOptions): Promise<string> {
  const state = randomValue();
  const verifier = randomValue();
  const pending: PendingLogin = { verifier, redirectUri: settings.redirectUri, clientId: settings.clientId };
  settings.storage.setItem(keyOf(state), JSON.stringify(pending));
  const url = new URL(settings.authorizationEndpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', settings.clientId);
  url.searchParams.set('redirect_uri', settings.redirectUri);
  url.searchParams.set('code_challenge', await s256Challenge(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', state);
  if (options.scope !== undefined) url.searchParams.set('scope', options.scope);
  if (options.resource !== undefined) url.searchParams.set('resource', options.resource);
  if (options.prompt !== undefined) url.searchParams.set('prompt', options.prompt);
  if (options.maxAge !== undefined) url.searchParams.set('max_age', String(options.maxAge));
  return url.href;
}

/**
 * Checks the authorization response on the redirect URI and returns what the token request needs. Refused: a
 * state this app did not start (forged, replayed or from another tab: RFC 6749 §10.12), an `iss` other than the
 * issuer's or none (RFC 9207 §2.4: a mix-up), a URL that is not the redirect URI; then an error the issuer sent
 * back (AuthorizationError). A pending login is used once, whatever the outcome.
 */
export function readAuthorizationResponse(settings: AuthorizationSettings, location: string | URL): { code: string; verifier: string; redirectUri: string } {
  const url = new URL(String(location));
  const params = url.searchParams;
  const state = params.get('state');
  const stored = state === null ? null : settings.storage.getItem(keyOf(state));
  if (state !== null) settings.storage.removeItem(keyOf(state));
  let pending: PendingLogin | undefined;
  try {
    pending = stored === null ? undefined : (JSON.parse(stored) as PendingLogin);
  } catch {
    pending = undefined;
  }
  if (!pending || pending.clientId !== settings.clientId) throw new LoginResponseError('The login response does not answer a login this app started (state)');
  if (`${url.origin}${url.pathname}` !== `${new URL(pending.redirectUri).origin}${new URL(pending.redirectUri).pathname}`) {
    throw new LoginResponseError('The login response did not arrive at the redirect URI');
  }
  if (params.get('iss') !== settings.issuer) throw new LoginResponseError('The login response comes from another issuer, or does not say which (iss)');
  const error = params.get('error');
  if (error !== null) throw new AuthorizationError(`The issuer refused the login: ${error}`, error, params.get('error_description') ?? undefined);
  const code = params.get('code');
  if (code === null) throw new LoginResponseError('The login response carries no code');
  return { code, verifier: pending.verifier, redirectUri: pending.redirectUri };
}
