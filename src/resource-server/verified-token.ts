/** What an active introspection answer must say before this API accepts the token, and what it then exposes. */
import type { IntrospectionAnswer } from './introspect.js';

/** The verified claims, on `ctx.state.auth`. Times are epoch seconds. */
export interface VerifiedToken {
  /** The user's stable id, or the client id for a client_credentials token. */
  subject: string;
  /** The client the token was issued to. */
  clientId: string;
  scopes: readonly string[];
  audience: string;
  issuer: string;
  /** The token's `exp`, when the issuer reported it. */
  expiresAt: number | undefined;
  /** Present for tokens of a user session. */
  username: string | undefined;
  sessionId: string | undefined;
  tokenId: string | undefined;
}

export interface Expectations {
  issuer: string;
  audience: string;
  now: number;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const integer = (value: unknown): number | undefined => (typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined);

/**
 * Returns the verified token, or undefined when this API must refuse it (401 invalid_token): inactive, issued for
 * another audience (RFC 9068 §4: the resource server "MUST validate that the aud claim contains a resource
 * indicator value corresponding to an identifier the resource server expects for itself"), by another issuer,
 * not a Bearer access token (a refresh token is never a credential here), or past its `exp`.
 */
export function acceptToken(answer: IntrospectionAnswer, expected: Expectations): VerifiedToken | undefined {
  if (answer.active !== true) return undefined;
  const tokenType = text(answer.token_type);
  if (tokenType !== undefined && tokenType.toLowerCase() !== 'bearer') return undefined;
  const audiences = Array.isArray(answer.aud) ? answer.aud : [answer.aud];
  if (!audiences.includes(expected.audience)) return undefined;
  if (answer.iss !== undefined && answer.iss !== expected.issuer) return undefined;
  const expiresAt = integer(answer.exp);
  if (expiresAt !== undefined && expected.now >= expiresAt) return undefined;
  const subject = text(answer.sub);
  const clientId = text(answer.client_id);
  if (subject === undefined || clientId === undefined) return undefined;
  return {
    subject,
    clientId,
    scopes: (text(answer.scope) ?? '').split(' ').filter((scope) => scope !== ''),
    audience: expected.audience,
    issuer: expected.issuer,
    expiresAt,
    username: text(answer.username),
    sessionId: text(answer.sid),
    tokenId: text(answer.jti),
  };
}

/**
 * The token's own `exp`, read without verifying anything, only to choose the words of a refusal: "The access
 * token expired" tells the developer why; the decision itself was the issuer's. Undefined when it is not a JWT.
 */
export function unverifiedExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined || !/^[A-Za-z0-9_-]+$/.test(payload)) return undefined;
  try {
    return integer((JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp);
  } catch {
    return undefined;
  }
}

/**
 * The `kid` of the token's JWS header, read without verifying: only to evict the token when a key-revoked event
 * names that key. The issuer verified the signature over this header when it answered active.
 */
export function unverifiedKeyId(token: string): string | undefined {
  const header = token.split('.')[0];
  if (header === undefined || !/^[A-Za-z0-9_-]+$/.test(header)) return undefined;
  try {
    const kid = (JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { kid?: unknown }).kid;
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}
