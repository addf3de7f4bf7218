/** What a resource server tells the middleware, checked once when the middleware is created. */
import { isLoopbackHost } from '../config.js';
import type { Logger } from '../lib/log.js';

export interface ResourceServerCacheOptions {
  /**
   * How long an active introspection answer is reused. This is the longest an ended session (or a revoked
   * token) can still pass this API; an entry never outlives the token's own `exp` either.
   */
  ttlSeconds: number;
  /** Entries kept at most; the least recently used goes first. Default 10 000. */
  maxEntries?: number;
}

/**
 * Event mode (issue #12): the middleware receives the issuer's Shared Signals (SSF 1.0, RFC 8936 poll) on a
 * stream of its own and keeps each accepted token until its `exp`, evicting it when an event says it ended. It
 * trusts that cache only while it can show that the stream is current; otherwise every request is introspected.
 */
export interface ResourceServerEventOptions {
  /**
   * This API's receiver client at the issuer (`gatehouse clients create --id notes-api-events --receiver`): its
   * client_credentials token, with ssf.manage and ssf.read, opens, polls and deletes the stream.
   */
  clientId: string;
  clientSecret: string;
  /** The issuer's long-poll wait, GATEHOUSE_SSF_POLL_WAIT_SECONDS. Default 25. */
  pollWaitSeconds?: number;
  /**
   * How much later than pollWaitSeconds a long poll may answer before the stream no longer counts as current.
   * Default 5. pollWaitSeconds + pollMarginSeconds is the staleness bound when the issuer stops answering.
   */
  pollMarginSeconds?: number;
  /** First delay before polling again after a failure; it doubles up to 30 s. Default 1000 ms. */
  retryDelayMs?: number;
  /** Entries kept at most; the least recently used goes first. Default 10 000. */
  maxEntries?: number;
}

export interface ResourceServerOptions {
  /** The issuer identifier, byte for byte as in its metadata's `issuer` (e.g. https://auth.example.com). */
  issuer: string;
  /** This API's own client at the issuer, created with `gatehouse clients create --introspect`. */
  clientId: string;
  clientSecret: string;
  /** This API's identifier: a token is accepted only when its `aud` names it (RFC 9068 §4). */
  audience: string;
  /** The realm of every challenge. Default "api". */
  realm?: string;
  /** Deadline for one call to the issuer, connecting included. Default 2000 ms. */
  timeoutMs?: number;
  /** `Retry-After` of a 503 when the issuer cannot answer. Default 2 s. */
  retryAfterSeconds?: number;
  /** Off by default: every request is verified with the issuer. */
  cache?: ResourceServerCacheOptions;
  /** Off by default. Cannot be combined with `cache`. */
  events?: ResourceServerEventOptions;
  /** Kept-alive connections to the issuer at most. Default 64. */
  maxSockets?: number;
  /** Epoch seconds now; the cache and the "expired" description use it. Default: the system clock. */
  clock?: { now(): number };
  /** Where issuer problems are reported (never a token). Default: one line on stderr. */
  log?: Logger;
}

export interface ResolvedOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  audience: string;
  realm: string;
  timeoutMs: number;
  retryAfterSeconds: number;
  cache: Required<ResourceServerCacheOptions> | undefined;
  events: Required<ResourceServerEventOptions> | undefined;
  maxSockets: number;
}

const positiveInteger = (value: number | undefined, name: string, fallback: number): number => {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
};

/** RFC 6750 §3: auth-param values are quoted-strings; Gatehouse keeps them to printable ASCII without `"` and `\`. */
const QUOTABLE = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;

/** Misuse of the API is a TypeError, at creation, never a surprise at the first request. */
export function resolveOptions(options: ResourceServerOptions): ResolvedOptions {
  let issuerUrl: URL;
  try {
    issuerUrl = new URL(options.issuer);
  } catch {
    throw new TypeError(`issuer must be an absolute URL, got ${JSON.stringify(options.issuer)}`);
  }
  // RFC 8414 §2: https, no query, no fragment. The client secret and every token travel to it.
  if (issuerUrl.search !== '' || issuerUrl.hash !== '' || options.issuer.endsWith('/')) {
    throw new TypeError('issuer must have no query, fragment or trailing slash');
  }
  if (issuerUrl.protocol !== 'https:' && !(issuerUrl.protocol === 'http:' && isLoopbackHost(issuerUrl.hostname))) {
    throw new TypeError('issuer must use https (http only for loopback hosts)');
  }
  if (!options.clientId || !options.clientSecret) throw new TypeError('clientId and clientSecret are required');
  if (!options.audience) throw new TypeError('audience is required');
  if (options.cache !== undefined && options.events !== undefined) throw new TypeError('cache and events are two modes: choose one');
  if (options.events !== undefined && (!options.events.clientId || !options.events.clientSecret)) {
    throw new TypeError('events.clientId and events.clientSecret (a --receiver client) are required');
  }
  const realm = options.realm ?? 'api';
  if (!QUOTABLE.test(realm)) throw new TypeError('realm must be printable ASCII without " or \\');
  return {
    issuer: options.issuer,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    audience: options.audience,
    realm,
    timeoutMs: positiveInteger(options.timeoutMs, 'timeoutMs', 2000),
    retryAfterSeconds: positiveInteger(options.retryAfterSeconds, 'retryAfterSeconds', 2),
    cache:
      options.cache === undefined
        ? undefined
        : {
            ttlSeconds: positiveInteger(options.cache.ttlSeconds, 'cache.ttlSeconds', 0),
            maxEntries: positiveInteger(options.cache.maxEntries, 'cache.maxEntries', 10_000),
          },
    events:
      options.events === undefined
        ? undefined
        : {
            clientId: options.events.clientId,
            clientSecret: options.events.clientSecret,
            pollWaitSeconds: positiveInteger(options.events.pollWaitSeconds, 'events.pollWaitSeconds', 25),
            pollMarginSeconds: positiveInteger(options.events.pollMarginSeconds, 'events.pollMarginSeconds', 5),
            retryDelayMs: positiveInteger(options.events.retryDelayMs, 'events.retryDelayMs', 1000),
            maxEntries: positiveInteger(options.events.maxEntries, 'events.maxEntries', 10_000),
          },
    maxSockets: positiveInteger(options.maxSockets, 'maxSockets', 64),
  };
}
