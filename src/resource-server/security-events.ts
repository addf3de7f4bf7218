/**
 * The Security Event Tokens a stream delivers (RFC 8417): verified against the issuer's JWKS, then read as what
 * they mean for the cache. The event types are those docs/events.md lists; one this middleware does not know
 * empties the cache, because nothing cached can be shown to be unaffected by it.
 */
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { IssuerUnavailable } from './errors.js';
import type { Eviction } from './event-cache.js';
import type { IssuerHttp } from './issuer-http.js';

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type';
const SSF = 'https://schemas.openid.net/secevent/ssf/event-type';

/** What one SET means to the receiver. */
export type ReceivedEvent =
  | { kind: 'evict'; evictions: Eviction[] }
  | { kind: 'verification'; state: string | undefined }
  | { kind: 'stream-updated'; status: string }
  /** An event that ends nothing (account-enabled). */
  | { kind: 'none' };

/** RFC 8935 §2.4 error codes, which RFC 8936 §2.4 setErrs reuse. */
export interface SetError {
  err: 'invalid_request' | 'invalid_key' | 'invalid_issuer' | 'invalid_audience';
  description: string;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** The issuer's signing keys: fetched at the first SET, and again when a SET names a key not among them. */
export class IssuerKeys {
  private keys: ReturnType<typeof createLocalJWKSet> | undefined;

  constructor(
    private readonly http: IssuerHttp,
    private readonly jwksUri: string,
  ) {}

  /** Throws IssuerUnavailable when the JWKS cannot be read: a SET must then be neither acknowledged nor refused. */
  async refresh(): Promise<void> {
    const reply = await this.http.send(this.jwksUri, { method: 'GET', headers: { accept: 'application/json' } });
    if (reply.status !== 200) throw new IssuerUnavailable(`JWKS answered ${reply.status}`);
    let jwks: unknown;
    try {
      jwks = JSON.parse(reply.body);
    } catch {
      throw new IssuerUnavailable('JWKS is not JSON');
    }
    if (!isObject(jwks) || !Array.isArray(jwks.keys)) throw new IssuerUnavailable('JWKS has no keys array');
    this.keys = createLocalJWKSet(jwks as unknown as JSONWebKeySet);
  }

  get loaded(): ReturnType<typeof createLocalJWKSet> | undefined {
    return this.keys;
  }
}

/**
 * Verifies one SET (RFC 8417 §2.3 explicit typing `secevent+jwt`; SSF 1.0 §4.1: iss, aud = this receiver, exactly
 * one event) and reads its claims. `refetched` tells whether the JWKS was already read again for this answer: an
 * unknown key is looked up once more (the issuer may have rotated), then it is the SET's fault.
 */
export async function verifySet(
  set: string,
  keys: IssuerKeys,
  expected: { issuer: string; audience: string; jti: string },
  refetch: { done: boolean },
): Promise<{ payload: JWTPayload } | { error: SetError }> {
  if (!keys.loaded) await keys.refresh();
  for (;;) {
    try {
      const { payload } = await jwtVerify(set, keys.loaded!, { issuer: expected.issuer, audience: expected.audience, typ: 'secevent+jwt' });
      // RFC 8936 §2.2: the answer maps each SET's jti to the SET.
      if (payload.jti !== expected.jti) return { error: { err: 'invalid_request', description: 'jti differs from the key it was delivered under' } };
      if (!isObject(payload.events) || Object.keys(payload.events).length !== 1) {
        return { error: { err: 'invalid_request', description: 'a SET carries exactly one event' } };
      }
      return { payload };
    } catch (error) {
      if (error instanceof joseErrors.JWKSNoMatchingKey && !refetch.done) {
        refetch.done = true;
        await keys.refresh();
        continue;
      }
      if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWSSignatureVerificationFailed) {
        return { error: { err: 'invalid_key', description: 'the signature does not verify with the issuer JWKS' } };
      }
      if (error instanceof joseErrors.JWTClaimValidationFailed) {
        if (error.claim === 'iss') return { error: { err: 'invalid_issuer', description: 'iss is not the issuer' } };
        if (error.claim === 'aud') return { error: { err: 'invalid_audience', description: 'aud is not this receiver' } };
        return { error: { err: 'invalid_request', description: `claim ${error.claim} is not acceptable` } };
      }
      if (error instanceof joseErrors.JOSEError) return { error: { err: 'invalid_request', description: 'not a verifiable SET' } };
      throw error;
    }
  }
}

/** A user named as `iss_sub` of this issuer; undefined for anything else. */
function userOf(subject: unknown, issuer: string): string | undefined {
  if (!isObject(subject) || subject.format !== 'iss_sub' || subject.iss !== issuer) return undefined;
  return text(subject.sub);
}

function opaqueOf(subject: unknown): string | undefined {
  if (!isObject(subject) || subject.format !== 'opaque') return undefined;
  return text(subject.id);
}

/** The subject of a session-revoked, credential-change or account event: the session, else the user. */
function userOrSession(subId: unknown, issuer: string, allowSession: boolean): Eviction[] | undefined {
  if (!isObject(subId)) return undefined;
  if (subId.format === 'iss_sub') {
    const subject = userOf(subId, issuer);
    return subject === undefined ? undefined : [{ kind: 'user', subject }];
  }
  if (subId.format !== 'complex') return undefined;
  const sessionId = opaqueOf(subId.session);
  if (allowSession && sessionId !== undefined) return [{ kind: 'session', sessionId }];
  const subject = userOf(subId.user, issuer);
  if (subject === undefined) return undefined;
  const clientId = opaqueOf(subId.application);
  // CAEP session-revoked with user and application (a consent withdrawn): that user's tokens at that client.
  return [{ kind: 'user', subject, ...(allowSession && clientId !== undefined ? { clientId } : {}) }];
}

/** What a verified SET means: which cached tokens it ends, or what it says about the stream. */
export function readEvent(payload: JWTPayload, issuer: string): ReceivedEvent {
  const [type, event] = Object.entries(payload.events as Json)[0]!;
  const detail = isObject(event) ? event : {};
  const all: ReceivedEvent = { kind: 'evict', evictions: [{ kind: 'all' }] };
  const evict = (evictions: Eviction[] | undefined): ReceivedEvent => (evictions ? { kind: 'evict', evictions } : all);
  switch (type) {
    case `${CAEP}/session-revoked`:
      return evict(userOrSession(payload.sub_id, issuer, true));
    case `${CAEP}/credential-change`:
    case `${RISC}/account-disabled`:
      return evict(userOrSession(payload.sub_id, issuer, false));
    case `${RISC}/account-enabled`:
      return { kind: 'none' };
    case `${issuer}/ssf/event-type/token-revoked`: {
      const tokenId = text(detail.jti);
      return evict(tokenId === undefined ? undefined : [{ kind: 'token', tokenId }]);
    }
    case `${issuer}/ssf/event-type/client-disabled`: {
      const clientId = opaqueOf(payload.sub_id);
      return evict(clientId === undefined ? undefined : [{ kind: 'client', clientId }]);
    }
    case `${issuer}/ssf/event-type/key-revoked`: {
      const kid = text(detail.kid);
      return evict(kid === undefined ? undefined : [{ kind: 'key', kid }]);
    }
    case `${SSF}/verification`:
      return { kind: 'verification', state: text(detail.state) };
    case `${SSF}/stream-updated`:
      return { kind: 'stream-updated', status: text(detail.status) ?? 'unknown' };
    default:
      return all;
  }
}
