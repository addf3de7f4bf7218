/**
 * Access tokens are RFC 9068 JWTs. Signing uses the key ring's current key; verification trusts nothing in the
 * header but the `kid`: the algorithm must be the one of the key that kid names (RFC 8725 §3.1), and a header
 * with members other than alg, kid and typ (jku, x5u, jwk, crit, …) is refused outright.
 */
import { compactVerify, SignJWT, type JWTPayload } from 'jose';
import type { KeyRing, SigningKey } from '../keys/key-manager.js';
import { randomToken } from '../lib/crypto.js';

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
}

/** RFC 9068 §2.1: typ "at+jwt"; "application/at+jwt" is the same media type. */
const AT_JWT_TYPES = new Set(['at+jwt', 'application/at+jwt']);
const ALLOWED_HEADER = new Set(['alg', 'kid', 'typ']);
const MAX_TOKEN_LENGTH = 8192;

export async function signAccessToken(key: SigningKey, claims: Omit<AccessTokenClaims, 'jti'>): Promise<{ token: string; claims: AccessTokenClaims }> {
  const full: AccessTokenClaims = { ...claims, jti: randomToken(16) };
  const token = await new SignJWT({ ...full })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
    .sign(key.privateKey);
  return { token, claims: full };
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

/**
 * Verifies signature, type, issuer and lifetime at `now`, with no leeway: a token is valid while now < exp
 * (RFC 7519 §4.1.4). Returns the claims, or null for any token that fails, whatever the reason.
 */
export async function verifyAccessToken(ring: KeyRing, token: string, issuer: string, now: number): Promise<AccessTokenClaims | null> {
  if (token.length > MAX_TOKEN_LENGTH) return null;
  const [headerSegment] = token.split('.', 1);
  const header = headerSegment === undefined ? undefined : decodeJson(headerSegment);
  if (!header || !Object.keys(header).every((name) => ALLOWED_HEADER.has(name))) return null;
  if (typeof header.typ !== 'string' || !AT_JWT_TYPES.has(header.typ.toLowerCase())) return null;
  if (typeof header.kid !== 'string') return null;
  const key = ring.verifier(header.kid);
  if (!key || header.alg !== key.alg) return null;

  let payload: JWTPayload;
  try {
    const verified = await compactVerify(token, key.publicKey, { algorithms: [key.alg] });
    payload = JSON.parse(Buffer.from(verified.payload).toString('utf8')) as JWTPayload;
  } catch {
    return null;
  }
  const claims = payload as Record<string, unknown>;
  if (claims.iss !== issuer) return null;
  if (!isInteger(claims.exp) || now >= claims.exp) return null;
  if (!isInteger(claims.iat)) return null;
  if (claims.nbf !== undefined && (!isInteger(claims.nbf) || now < claims.nbf)) return null;
  if (!isText(claims.sub) || !isText(claims.aud) || !isText(claims.jti) || !isText(claims.client_id)) return null;
  if (typeof claims.scope !== 'string') return null;
  if (claims.sid !== undefined && !isText(claims.sid)) return null;
  return claims as unknown as AccessTokenClaims;
}
