/**
 * Access tokens are RFC 9068 JWTs. Signing uses the key ring's current key; verification trusts nothing in the
 * header but the `kid`: the algorithm must be the one of the key that kid names (RFC 8725 §3.1), and a header
 * with members other than alg, kid and typ (jku, x5u, jwk, crit, …) is refused outright.
 */
import type { KeyRing, SigningKey } from '../keys/key-ring.js';
import { randomToken } from '../lib/crypto.js';
import { signCompactAsync, verifySignatureAsync } from './jws.js';
import type { VerifiedToken, VerifiedTokenCache } from './verified-cache.js';

export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  iat: number;
  jti: string;
  client_id: string;
  scope: string;
  /** The session (absent for client_credentials tokens). */
  sid?: string;
  /** Never issued by Gatehouse, but honoured if present (RFC 7519 §4.1.5). */
  nbf?: number;
}

/** RFC 9068 §2.1: typ "at+jwt"; "application/at+jwt" is the same media type. */
const AT_JWT_TYPES = new Set(['at+jwt', 'application/at+jwt']);
const ALLOWED_HEADER = new Set(['alg', 'kid', 'typ']);
const MAX_TOKEN_LENGTH = 8192;

/** Signs with the ring's current key, on libuv's thread pool (jws.ts). */
export async function signAccessToken(key: SigningKey, claims: Omit<AccessTokenClaims, 'jti'>): Promise<{ token: string; claims: AccessTokenClaims }> {
  const full: AccessTokenClaims = { ...claims, jti: randomToken(16) };
  return { token: await signCompactAsync(key.alg, key.privateKey, key.encodedHeader, full), claims: full };
}

/** True when a string has the shape of a compact JWS; anything else is treated as an opaque token. */
export function looksLikeJwt(token: string): boolean {
  return token.split('.').length === 3;
}

function decodeJson(segment: string): Record<string, unknown> | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(segment)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const isInteger = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value);
const isText = (value: unknown): value is string => typeof value === 'string' && value !== '';

/** Checks the header and the signature (on libuv's thread pool); the claims as signed, or null. */
async function verifySigned(ring: KeyRing, token: string): Promise<VerifiedToken | null> {
  if (token.length > MAX_TOKEN_LENGTH) return null;
  const [headerSegment, payloadSegment, signature, extra] = token.split('.');
  if (headerSegment === undefined || payloadSegment === undefined || signature === undefined || extra !== undefined) return null;
  const header = decodeJson(headerSegment);
  if (!header || !Object.keys(header).every((name) => ALLOWED_HEADER.has(name))) return null;
  if (typeof header.typ !== 'string' || !AT_JWT_TYPES.has(header.typ.toLowerCase())) return null;
  if (typeof header.kid !== 'string') return null;
  const key = ring.verifier(header.kid);
  if (!key || header.alg !== key.alg) return null;
  if (!(await verifySignatureAsync(key.alg, key.publicKey, `${headerSegment}.${payloadSegment}`, signature))) return null;
  const claims = decodeJson(payloadSegment);
  if (!claims || !hasClaimTypes(claims)) return null;
  return { kid: key.kid, claims };
}

function hasClaimTypes(claims: Record<string, unknown>): claims is Record<string, unknown> & AccessTokenClaims {
  return (
    typeof claims.iss === 'string' &&
    isInteger(claims.exp) &&
    isInteger(claims.iat) &&
    (claims.nbf === undefined || isInteger(claims.nbf)) &&
    isText(claims.sub) &&
    isText(claims.aud) &&
    isText(claims.jti) &&
    isText(claims.client_id) &&
    typeof claims.scope === 'string' &&
    (claims.sid === undefined || isText(claims.sid))
  );
}

/**
 * Verifies signature, type, issuer and lifetime at `now`, with no leeway: a token is valid while now < exp
 * (RFC 7519 §4.1.4). Returns the claims, or null for any token that fails, whatever the reason. With a cache, a
 * token seen before skips the signature check, provided its key is still in the ring.
 */
export async function verifyAccessToken(ring: KeyRing, token: string, issuer: string, now: number, cache?: VerifiedTokenCache): Promise<AccessTokenClaims | null> {
  let verified = cache?.get(token);
  if (verified && !ring.verifier(verified.kid)) return null; // the key was revoked or removed since
  if (!verified) {
    const checked = await verifySigned(ring, token);
    if (!checked) return null;
    verified = checked;
    cache?.set(token, verified);
  }
  const { claims } = verified;
  if (claims.iss !== issuer || now >= claims.exp || (claims.nbf !== undefined && now < claims.nbf)) return null;
  return claims;
}
