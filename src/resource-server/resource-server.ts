/**
 * Verify-with-issuer on every request: the Bearer token from the Authorization header, POST /introspect with this
 * API's own credentials, then audience and scope checks. Only the issuer knows whether the session behind a token
 * still exists, so it is asked each time (or, with the optional cache, at most once per TTL).
 */
import type { Middleware } from 'koa';
import { systemClock } from '../lib/clock.js';
import { createLogger, type Logger } from '../lib/log.js';
import { isScopeToken } from '../lib/scope.js';
import { readBearerCredentials } from './bearer.js';
import { VerifiedTokenCache } from './cache.js';
import { discoverOnce, type IssuerMetadata } from './discovery.js';
import { IssuerMisconfigured, IssuerUnavailable } from './errors.js';
import { EventTokenCache } from './event-cache.js';
import { EventReceiver } from './event-receiver.js';
import { introspect } from './introspect.js';
import { createIssuerHttp } from './issuer-http.js';
import { resolveOptions, type ResourceServerOptions } from './options.js';
import { refuse } from './refusal.js';
import { acceptToken, unverifiedExpiry, unverifiedKeyId, type VerifiedToken } from './verified-token.js';

/** What the middleware puts on `ctx.state`. */
/** The longest bearer token looked at; Gatehouse's own are well under 2 KiB. */
export const MAX_TOKEN_LENGTH = 4096;

export interface ResourceServerState {
  auth: VerifiedToken;
}

export interface ResourceServer {
  /**
   * Middleware for one route: the request needs an active token for this API that carries every scope named
   * (`requireScopes('notes:write')`); with no scope, any active token for this API passes.
   */
  requireScopes(...scopes: string[]): Middleware<ResourceServerState>;
  /** Verifies a bearer string directly: the verified token, or undefined when it must be refused. */
  verify(token: string): Promise<VerifiedToken | undefined>;
  /** Fetches the issuer metadata now rather than at the first request (it is fetched once either way). */
  discover(): Promise<IssuerMetadata>;
  /**
   * Event mode: whether the event stream is current now, i.e. accepted tokens are answered from the cache (for a
   * readiness probe or a metric). Always false in the other modes.
   */
  eventStreamCurrent(): boolean;
  /**
   * Closes the kept-alive connections to the issuer; in event mode it also stops polling and deletes the stream
   * (best effort). Resolves when that is done.
   */
  stop(): Promise<void>;
  /** stop() without waiting for it. */
  close(): void;
}

export function createResourceServer(options: ResourceServerOptions): ResourceServer {
  const settings = resolveOptions(options);
  const clock = options.clock ?? systemClock;
  const log: Logger = options.log ?? createLogger();
  const http = createIssuerHttp(settings);
  const discover = discoverOnce(http, settings.issuer);
  const cache = settings.cache && new VerifiedTokenCache(settings.cache.ttlSeconds, settings.cache.maxEntries);
  const eventCache = settings.events && new EventTokenCache(settings.events.maxEntries);
  const receiver = eventCache && new EventReceiver(settings, http, discover, eventCache, log);
  receiver?.start();

  /**
   * A token answered from memory, without a round trip: in event mode only while the stream is current, else from
   * the TTL cache when there is one. Synchronous, so a cached request costs no promise.
   */
  function fromCache(token: string): VerifiedToken | undefined {
    // Far longer than any token an issuer hands out, and form-encoded it could outgrow what the issuer accepts
    // (up to three bytes a character): never cached, refused by verify() without a round trip.
    if (token.length > MAX_TOKEN_LENGTH) return undefined;
    if (receiver && eventCache) return receiver.trusted() ? eventCache.get(token, clock.now()) : undefined;
    return cache?.get(token, clock.now());
  }

  /**
   * Asks the issuer (POST /introspect) and keeps an active answer. Event mode: an answer is cached only when no
   * event that arrived while it was asked for would have evicted it, and the trust did not change meanwhile: such
   * an event may have ended this very token after the issuer answered, and caching the answer would keep it
   * accepted until its exp.
   */
  async function askIssuer(token: string): Promise<VerifiedToken | undefined> {
    const trusted = receiver?.trusted() ?? false;
    const epoch = receiver?.epoch ?? 0;
    const { introspectionEndpoint } = await discover();
    const answer = await introspect(http, introspectionEndpoint, settings, token);
    // The clock is read after the answer: a token that expired while the issuer was answering is refused.
    const now = clock.now();
    const verified = acceptToken(answer, { issuer: settings.issuer, audience: settings.audience, now });
    if (!verified) return undefined;
    if (receiver && eventCache) {
      const kid = unverifiedKeyId(token);
      if (trusted && receiver.mayCache(epoch, verified, kid)) eventCache.set(token, verified, kid, now);
    } else {
      cache?.set(token, verified, now);
    }
    return verified;
  }

  async function verify(token: string): Promise<VerifiedToken | undefined> {
    if (token.length > MAX_TOKEN_LENGTH) return undefined;
    return fromCache(token) ?? askIssuer(token);
  }

  function requireScopes(...scopes: string[]): Middleware<ResourceServerState> {
    for (const scope of scopes) {
      if (!isScopeToken(scope)) throw new TypeError(`not a scope token (RFC 6749 §3.3): ${JSON.stringify(scope)}`);
    }
    return async function bearerAuth(ctx, next) {
      const credentials = readBearerCredentials(ctx.req);
      if (credentials.kind === 'none') return refuse(ctx, settings.realm, { kind: 'no_token' });
      if (credentials.kind === 'malformed') return refuse(ctx, settings.realm, { kind: 'invalid_request', description: credentials.description });

      let verified = fromCache(credentials.token);
      try {
        verified ??= await verify(credentials.token);
      } catch (error) {
        // Never 401 here: the token may be perfectly good, and a 401 would send the user back to the login.
        if (error instanceof IssuerUnavailable) {
          log.warn('token issuer unavailable', { issuer: settings.issuer, reason: error.message });
          return refuse(ctx, settings.realm, { kind: 'unavailable', retryAfterSeconds: settings.retryAfterSeconds });
        }
        if (error instanceof IssuerMisconfigured) {
          log.error('token issuer refused this resource server', { issuer: settings.issuer, client_id: settings.clientId, reason: error.message });
          return refuse(ctx, settings.realm, { kind: 'server_error' });
        }
        throw error;
      }
      if (!verified) {
        const exp = unverifiedExpiry(credentials.token);
        return refuse(ctx, settings.realm, { kind: 'invalid_token', expired: exp !== undefined && clock.now() >= exp });
      }
      if (!scopes.every((scope) => verified.scopes.includes(scope))) return refuse(ctx, settings.realm, { kind: 'insufficient_scope', scopes });
      ctx.state.auth = verified;
      await next();
    };
  }

  async function stop(): Promise<void> {
    await receiver?.stop();
    http.close();
  }

  return { requireScopes, verify, discover, eventStreamCurrent: () => receiver?.trusted() ?? false, stop, close: () => void stop() };
}
