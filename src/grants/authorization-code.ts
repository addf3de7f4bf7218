/**
 * RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.5–4.6): redeeming an authorization code at /token. The code is bound to
 * the client, the redirect URI and the code challenge it was issued for, lives GATEHOUSE_AUTHORIZATION_CODE_TTL
 * seconds, and is used once: of concurrent redemptions the conditional UPDATE lets exactly one through, and any
 * later use of a used code ends the session its first use opened (§4.1.2). A refused redemption (another
 * client's, a wrong verifier or redirect URI) consumes nothing. The session opened belongs to the login session
 * the code was issued through, and never outlives it.
 */
import { createHash } from 'node:crypto';
import { auditRecord } from '../audit/audit.js';
import { invalidGrant, invalidRequest, invalidTarget, type OAuthError } from '../errors.js';
import { uuidv7 } from '../lib/ids.js';
import { accessTokenExpiry, isSessionAlive, refreshTokenExpiry } from '../sessions/lifetime.js';
import type { AuthorizationCodeRecord } from '../storage/authorization-codes.js';
import type { SessionRecord } from '../storage/sessions.js';
import type { Store } from '../storage/store.js';
import { sha256Hex } from '../lib/crypto.js';
import { newRefreshToken } from '../tokens/refresh-token.js';
import { mintAccessToken, type GrantHandler, type GrantRequest, type TokenResponse } from './shared.js';

const INVALID = 'The authorization code is invalid, expired or used';

/** RFC 7636 §4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~". */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** RFC 7636 §4.6: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge. */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

type Outcome =
  | { kind: 'refused'; error: OAuthError }
  | { kind: 'reused'; sessionId: string | null }
  | { kind: 'issued'; session: SessionRecord; refreshToken: string | undefined };

const refused = (error: OAuthError): Outcome => ({ kind: 'refused', error });

/** Why a code that was not yet used cannot be redeemed by this request (undefined: it can). */
function mismatch(code: AuthorizationCodeRecord, request: { clientId: string; redirectUri: string; challenge: string; resource: string | undefined }, now: number): OAuthError | undefined {
  if (now >= code.expiresAt) return invalidGrant(INVALID, 'authorization code expired');
  // RFC 6749 §4.1.3: "ensure that the authorization code was issued to the authenticated confidential client,
  // or if the client is public, ensure that the code was issued to "client_id" in the request".
  if (code.clientId !== request.clientId) return invalidGrant(INVALID, 'authorization code of another client');
  // §4.1.3: the redirect_uri must be "identical" to the one of the authorization request.
  if (code.redirectUri !== request.redirectUri) return invalidGrant(INVALID, 'redirect_uri differs from the authorization request');
  // RFC 7636 §4.6: "If the values are not equal, an error response indicating "invalid_grant" MUST be returned."
  if (code.codeChallenge !== request.challenge) return invalidGrant(INVALID, 'code_verifier does not match the code_challenge');
  if (request.resource !== undefined && request.resource !== code.audience) return invalidTarget('The resource differs from the one the code was issued for');
  return undefined;
}

async function redeem(tx: Store, request: GrantRequest, codeHash: string, checks: Parameters<typeof mismatch>[1], now: number): Promise<Outcome> {
  const { deps, client, ip } = request;
  const code = await tx.authorizationCodes.find(codeHash);
  if (!code) return refused(invalidGrant(INVALID, 'unknown authorization code'));
  const reuse = async (): Promise<Outcome> => {
    // RFC 6749 §4.1.2: "If an authorization code is used more than once, the authorization server MUST deny the
    // request and SHOULD revoke (when possible) all tokens previously issued based on that authorization code."
    const used = (await tx.authorizationCodes.find(codeHash))!;
    if (used.sessionId !== null && (await tx.sessions.end(used.sessionId, now, 'code_reuse'))) {
      await tx.audit.insert(auditRecord(now, { type: 'code_reuse', actor: `ip:${ip}`, clientId: client.id, detail: `sid ${used.sessionId} ended` }));
      await tx.events.append(now, { type: 'session_revoked', sessionId: used.sessionId, userId: used.userId, clientId: used.clientId, reason: 'code_reuse', initiator: 'policy' });
    }
    return { kind: 'reused', sessionId: used.sessionId };
  };
  if (code.usedAt !== null) return reuse();
  const wrong = mismatch(code, checks, now);
  if (wrong) return refused(wrong);
  // The one decision concurrent redemptions race on (storage/authorization-codes.ts). A loser found the code used.
  if (!(await tx.authorizationCodes.consume(codeHash, now))) return reuse();

  const login = await tx.loginSessions.lockForUse(code.loginSessionId);
  const user = await tx.users.findById(code.userId);
  if (!login || !user || !isSessionAlive(login, user.disabledAt !== null, now)) return refused(invalidGrant(INVALID, 'the login session has ended'));
  const session: SessionRecord = {
    id: uuidv7(),
    userId: code.userId,
    clientId: client.id,
    scope: code.scope,
    audience: code.audience,
    createdAt: now,
    // A session opened through a login session never outlives it: ending or expiring the login ends it too.
    expiresAt: Math.min(now + deps.config.sessionMaxAgeSeconds, login.expiresAt),
    endedAt: null,
    endReason: null,
    loginSessionId: login.id,
  };
  await tx.sessions.insert(session);
  await tx.authorizationCodes.attachSession(codeHash, session.id);
  await tx.audit.insert(auditRecord(now, { type: 'login', actor: `ip:${ip}`, subject: user.username, clientId: client.id, detail: `sid ${session.id} via login session ${login.id}` }));
  const refresh = client.grantTypes.includes('refresh_token') ? newRefreshToken() : undefined;
  if (refresh) {
    const expiresAt = refreshTokenExpiry(now, deps.config.refreshTokenTtlSeconds, session.expiresAt);
    await tx.refreshTokens.insert({ tokenHash: refresh.hash, sessionId: session.id, parentHash: null, createdAt: now, expiresAt, rotatedAt: null });
  }
  return { kind: 'issued', session, refreshToken: refresh?.token };
}

export const authorizationCodeGrant: GrantHandler = async (request): Promise<TokenResponse> => {
  const { client, params, deps } = request;
  const code = params.get('code');
  const redirectUri = params.get('redirect_uri');
  const verifier = params.get('code_verifier');
  // RFC 6749 §4.1.3 (code; redirect_uri, always sent to /authorize here) and RFC 7636 §4.5 (code_verifier).
  if (code === undefined || redirectUri === undefined || verifier === undefined) throw invalidRequest('code, redirect_uri and code_verifier are required');
  if (!CODE_VERIFIER.test(verifier)) throw invalidGrant(INVALID, 'malformed code_verifier');
  deps.keys.signingKey(); // fails here, before anything is consumed, if no key can sign

  const now = deps.clock.now();
  const checks = { clientId: client.id, redirectUri, challenge: s256(verifier), resource: params.get('resource') };
  const outcome = await deps.store.transaction((tx) => redeem(tx, request, sha256Hex(code), checks, now));
  switch (outcome.kind) {
    case 'refused':
      throw outcome.error;
    case 'reused':
      deps.log.warn('authorization code reuse: its session ended', { client_id: client.id, ...(outcome.sessionId ? { sid: outcome.sessionId } : {}) });
      if (outcome.sessionId !== null) deps.metrics.sessionsEndedBy('code_reuse');
      throw invalidGrant(INVALID, 'authorization code reuse');
    case 'issued': {
      const { session } = outcome;
      const exp = accessTokenExpiry(now, deps.config.accessTokenTtlSeconds, session.expiresAt);
      const { token, expiresIn } = await mintAccessToken(deps, { sub: session.userId, clientId: client.id, scope: session.scope, aud: session.audience, exp, sid: session.id });
      return {
        access_token: token,
        token_type: 'Bearer',
        expires_in: expiresIn,
        scope: session.scope.join(' '),
        ...(outcome.refreshToken ? { refresh_token: outcome.refreshToken } : {}),
      };
    }
  }
};
