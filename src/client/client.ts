/**
 * A fetch wrapper that keeps a user's tokens: it attaches the access token, and when the API answers 401
 * invalid_token it renews once and retries once. Concurrent calls share one renewal (single flight): with
 * rotating refresh tokens, two renewals with the same token would look like theft and end the session.
 *
 * The access token goes only to the origins listed in `apiOrigins`. A call to any other URL is passed to fetch
 * untouched: no Authorization header, and whatever it answers never causes a renewal (a foreign server could
 * otherwise collect tokens, or make the app renew on demand).
 */
import { buildAuthorizationUrl, readAuthorizationResponse, type AuthorizationSettings, type LoginStorage, type StartLoginOptions } from './authorization.js';
import { isInvalidToken } from './challenge.js';
import { NotLoggedInError, SessionEndedError, TokenEndpointError, TokenRejectedError } from './errors.js';
import { authorizationCodeGrant, passwordGrant, postForm, refreshGrant, type TokenSet } from './token-endpoint.js';

export interface GatehouseClientOptions {
  /** The issuer's token endpoint, e.g. https://auth.example.com/token. */
  tokenEndpoint: string;
  /** For logout(): the issuer's revocation endpoint. */
  revocationEndpoint?: string;
  clientId: string;
  /**
   * The origins (scheme://host[:port]) of the APIs that receive the access token, e.g.
   * ['https://api.example.com']. Required: requests to any other origin are sent without a token.
   */
  apiOrigins: readonly string[];
  /** Confidential clients only (server-side code). Leave it out in a browser: the app is a public client. */
  clientSecret?: string;
  /** Tokens restored from storage. */
  tokens?: TokenSet;
  /**
   * The storage callback: called with every new token set (after login and after each renewal, so with each
   * rotated refresh token) and awaited before the call that needed it goes on; called with undefined when the
   * session has ended or the user logged out.
   */
  saveTokens?: (tokens: TokenSet | undefined) => void | Promise<void>;
  /** Renew this many seconds before `expires_in` runs out instead of waiting for a 401. Off by default. */
  renewAheadSeconds?: number;
  /**
   * For startLogin()/completeLogin(), the authorization code flow with PKCE: the issuer's authorization endpoint
   * (its metadata's `authorization_endpoint`), e.g. https://auth.example.com/authorize.
   */
  authorizationEndpoint?: string;
  /** The issuer identifier, byte for byte; the login response's `iss` must equal it (RFC 9207). */
  issuer?: string;
  /** This app's redirect URI, exactly as registered with `gatehouse clients create --redirect-uri`. */
  redirectUri?: string;
  /** Where the PKCE verifier waits between startLogin() and completeLogin(). Default: sessionStorage. */
  loginStorage?: LoginStorage;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Epoch milliseconds now. Default: Date.now. */
  now?: () => number;
}

export interface LoginOptions {
  /** A narrower scope than the client's default. */
  scope?: string;
  /** RFC 8707: the API the token is for, when the client has several. */
  resource?: string;
}

export interface GatehouseClient {
  /**
   * Starts the authorization code flow with PKCE: stores a fresh state and code verifier and returns the
   * issuer's URL to send the browser to (`location.assign(await client.startLogin())`).
   */
  startLogin(options?: StartLoginOptions): Promise<string>;
  /**
   * On the redirect URI: checks the response (state, iss), redeems the code and keeps the tokens. Throws
   * LoginResponseError for a response this app did not ask for, AuthorizationError when the issuer sent an
   * error (access_denied, …), LoginFailedError when the code was refused. Default URL: the page's location.
   */
  completeLogin(url?: string | URL): Promise<TokenSet>;
  /** The password grant; throws LoginFailedError on a wrong username or password. */
  login(username: string, password: string, options?: LoginOptions): Promise<TokenSet>;
  /**
   * fetch() with the access token when the URL is on one of `apiOrigins` (renews and retries once on 401
   * invalid_token); a plain fetch() for any other URL.
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** Renews now (shared with any renewal already under way). Throws SessionEndedError when the session is gone. */
  renew(): Promise<TokenSet>;
  /**
   * With a revocation endpoint, ends the session at the issuer (RFC 7009) and then forgets the tokens; if the
   * issuer cannot be reached the tokens are kept (so the logout can be tried again) and TokenEndpointError is
   * thrown. Without one, just forgets them.
   */
  logout(): Promise<void>;
  /** The tokens held now, if any. */
  readonly tokens: TokenSet | undefined;
}

/** The listed API origins, each exactly scheme://host[:port]; misuse is a TypeError at creation. */
function readApiOrigins(value: unknown): ReadonlySet<string> {
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError('apiOrigins is required: the origins of the APIs that may receive the access token');
  }
  return new Set(
    value.map((origin: unknown) => {
      let url: URL | undefined;
      try {
        url = new URL(String(origin));
      } catch {
        url = undefined;
      }
      if (!url || url.origin === 'null' || url.origin !== origin) {
        throw new TypeError(`apiOrigins: ${JSON.stringify(origin)} is not an origin (scheme://host[:port], no path or trailing slash)`);
      }
      return url.origin;
    }),
  );
}

export function createGatehouseClient(options: GatehouseClientOptions): GatehouseClient {
  const apiOrigins = readApiOrigins(options.apiOrigins);
  // Bound: a browser's fetch throws "Illegal invocation" when called on another object.
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const now = options.now ?? Date.now;
  const identity = { clientId: options.clientId, clientSecret: options.clientSecret };
  let current: TokenSet | undefined = options.tokens;
  let renewal: Promise<TokenSet> | undefined;

  async function store(tokens: TokenSet | undefined): Promise<void> {
    current = tokens;
    await options.saveTokens?.(tokens);
  }

  async function renewNow(): Promise<TokenSet> {
    const held = current;
    if (held?.refreshToken === undefined) {
      await store(undefined);
      throw new SessionEndedError('No refresh token to renew with: log in again');
    }
    try {
      const renewed = await refreshGrant(fetchImpl, options.tokenEndpoint, identity, held.refreshToken, now);
      // A login or logout while the renewal was under way wins over it.
      if (current !== held) {
        if (current) return current;
        throw new NotLoggedInError('Logged out while renewing');
      }
      await store(renewed);
      return renewed;
    } catch (error) {
      if (error instanceof SessionEndedError && current === held) await store(undefined);
      throw error;
    }
  }

  /** Single flight: every caller during a renewal gets that renewal's outcome. */
  function renew(): Promise<TokenSet> {
    renewal ??= renewNow().finally(() => {
      renewal = undefined;
    });
    return renewal;
  }

  /** After a 401 with `used`: renew, unless another call already did (or is doing) it. */
  function renewAfterRejection(used: TokenSet): Promise<TokenSet> {
    if (renewal) return renewal;
    if (current !== undefined && current !== used) return Promise.resolve(current);
    return renew();
  }

  async function tokensForCall(): Promise<TokenSet> {
    const held = current;
    if (!held) throw new NotLoggedInError('Log in first');
    const ahead = options.renewAheadSeconds;
    if (ahead === undefined || held.expiresAtMs === undefined || held.refreshToken === undefined) return held;
    // RFC 6749 §5.1 expires_in, not the JWT: clients must not read access tokens (RFC 9068 §6).
    if (now() < held.expiresAtMs - ahead * 1000) return held;
    try {
      return await renewAfterRejection(held);
    } catch (error) {
      // The issuer is down but the token may still be good: try the call with it.
      if (error instanceof TokenEndpointError) return held;
      throw error;
    }
  }

  function send(request: Request, tokens: TokenSet): Promise<Response> {
    const attempt = request.clone();
    attempt.headers.set('authorization', `Bearer ${tokens.accessToken}`);
    return fetchImpl(attempt);
  }

  /** The settings startLogin()/completeLogin() need; misuse is a TypeError, as at creation. */
  function authorization(): AuthorizationSettings {
    const { authorizationEndpoint, issuer, redirectUri } = options;
    if (authorizationEndpoint === undefined || issuer === undefined || redirectUri === undefined) {
      throw new TypeError('startLogin() and completeLogin() need the authorizationEndpoint, issuer and redirectUri options');
    }
    const storage = options.loginStorage ?? (globalThis as { sessionStorage?: LoginStorage }).sessionStorage;
    if (storage === undefined) throw new TypeError('startLogin() needs the loginStorage option where there is no sessionStorage');
    return { authorizationEndpoint, issuer, redirectUri, clientId: options.clientId, storage };
  }

  return {
    async startLogin(startOptions = {}) {
      return buildAuthorizationUrl(authorization(), startOptions);
    },

    async completeLogin(url) {
      const location = url ?? (globalThis as { location?: { href: string } }).location?.href;
      if (location === undefined) throw new TypeError('completeLogin() needs the URL the issuer redirected to');
      const response = readAuthorizationResponse(authorization(), location);
      const tokens = await authorizationCodeGrant(fetchImpl, options.tokenEndpoint, identity, response, now);
      await store(tokens);
      return tokens;
    },

    async login(username, password, loginOptions = {}) {
      const tokens = await passwordGrant(fetchImpl, options.tokenEndpoint, identity, { username, password, ...loginOptions }, now);
      await store(tokens);
      return tokens;
    },

    async fetch(input, init) {
      // A Request can be cloned for the one retry, whatever the body.
      const request = new Request(input, init);
      if (!apiOrigins.has(new URL(request.url).origin)) return fetchImpl(request);
      const used = await tokensForCall();
      const first = await send(request, used);
      if (!(await isInvalidToken(first))) return first;
      await first.body?.cancel();
      const renewed = await renewAfterRejection(used);
      const second = await send(request, renewed);
      // standards §15 step 5: a second invalid_token right after a renewal is a hard failure, not a loop.
      if (await isInvalidToken(second)) {
        await second.body?.cancel();
        throw new TokenRejectedError('The API refused a freshly renewed access token');
      }
      return second;
    },

    renew,

    async logout() {
      const held = current;
      if (held?.refreshToken !== undefined && options.revocationEndpoint !== undefined) {
        // RFC 7009 §2.1: revoking the refresh token ends the session, and with it every access token. Until the
        // issuer says so, the session lives on: the tokens are kept so that the logout can be tried again.
        const { status, body } = await postForm(fetchImpl, options.revocationEndpoint, identity, { token: held.refreshToken, token_type_hint: 'refresh_token' });
        if (status !== 200) throw new TokenEndpointError(`logout failed: ${status}`, status, typeof body?.error === 'string' ? body.error : undefined);
      }
      // A login or renewal that finished meanwhile holds other tokens: those are not this logout's to forget.
      if (current === held) await store(undefined);
    },

    get tokens() {
      return current;
    },
  };
}

