/**
 * RFC 6749 §6 with rotation (RFC 9700 §4.14.2): every use returns a new refresh token and consumes the old one.
 * A consumed token that comes back after the grace period means two parties hold it, so the whole session ends.
 * Consuming the token is a conditional UPDATE inside the transaction: of concurrent refreshes, one wins.
 */
import { audit } from '../audit/audit.js';
import { invalidGrant, invalidRequest, invalidScope, invalidTarget, type OAuthError } from '../errors.js';
import { isSubset, parseScope } from '../lib/scope.js';
import { accessTokenExpiry, isSessionAlive, isWithinRefreshGrace, refreshTokenExpiry } from '../sessions/lifetime.js';
import type { Store } from '../storage/store.js';
import { hashRefreshToken, newRefreshToken } from '../tokens/refresh-token.js';
import { mintAccessToken, type GrantHandler, type TokenResponse } from './shared.js';

const INVALID = 'The refresh token is invalid, expired or revoked';

type Outcome = { kind: 'issued'; response: TokenResponse } | { kind: 'refused'; error: OAuthError } | { kind: 'reused'; sessionId: string };

export const refreshTokenGrant: GrantHandler = async ({ client, params, deps, ip }) => {
  /** RFC 9700 §4.14.2: the session ends, its access tokens with it, and the trail says why. */
  const endForReuse = async (tx: Store, sid: string, username: string, now: number) => {
    if (await tx.sessions.end(sid, now, 'refresh_reuse')) await audit(tx, now, { type: 'refresh_reuse', actor: `ip:${ip}`, subject: username, clientId: client.id, detail: `sid ${sid} ended` });
  };
  const presented = params.get('refresh_token');
  if (presented === undefined) throw invalidRequest('refresh_token is required');
  const rawScope = params.get('scope');
  const requestedScope = rawScope === undefined ? undefined : parseScope(rawScope);
  if (requestedScope === null) throw invalidScope('The scope is malformed');
  const { refreshGraceSeconds, refreshTokenTtlSeconds, accessTokenTtlSeconds } = deps.config;

  // Decisions that end the session must commit, so refusals are returned, not thrown, from the transaction.
  const outcome = await deps.store.transaction(async (tx): Promise<Outcome> => {
    const now = deps.clock.now();
    const found = await tx.refreshTokens.findWithSession(hashRefreshToken(presented));
    if (!found) return { kind: 'refused', error: invalidGrant(INVALID, 'unknown refresh token') };
    const { token: stored, session, user } = found;
    // RFC 6749 §10.4: the token is bound to its client. Another client's attempt changes nothing.
    if (session.clientId !== client.id) return { kind: 'refused', error: invalidGrant(INVALID, 'issued to another client') };
    if (!isSessionAlive(session, user.disabledAt !== null, now)) return { kind: 'refused', error: invalidGrant(INVALID, 'session not alive') };

    // A rotated token that comes back is evidence of theft whenever it comes, even past its own expiry.
    const replay = stored.rotatedAt !== null;
    if (replay && !isWithinRefreshGrace(stored.rotatedAt!, refreshGraceSeconds, now)) {
      await endForReuse(tx, session.id, user.username, now);
      return { kind: 'reused', sessionId: session.id };
    }
    if (now >= stored.expiresAt) return { kind: 'refused', error: invalidGrant(INVALID, 'refresh token expired') };

    // RFC 6749 §6: the scope may be narrowed, never widened; the session keeps its full scope.
    const scope = requestedScope ?? session.scope;
    if (!isSubset(scope, session.scope)) return { kind: 'refused', error: invalidScope('The requested scope exceeds the scope originally granted') };
    const resource = params.get('resource');
    if (resource !== undefined && resource !== session.audience) {
      return { kind: 'refused', error: invalidTarget('The resource differs from the one this session was granted') };
    }

    if (!replay && !(await tx.refreshTokens.markRotated(stored.tokenHash, now))) {
      // Another request consumed it between our read and our write (several instances on one database).
      if (refreshGraceSeconds === 0) {
        await endForReuse(tx, session.id, user.username, now);
        return { kind: 'reused', sessionId: session.id };
      }
    }

    const exp = accessTokenExpiry(now, accessTokenTtlSeconds, session.expiresAt);
    const { token, expiresIn } = await mintAccessToken(deps, { sub: user.id, clientId: client.id, scope, aud: session.audience, exp, sid: session.id });
    const next = newRefreshToken();
    await tx.refreshTokens.insert({
      tokenHash: next.hash,
      sessionId: session.id,
      createdAt: now,
      expiresAt: refreshTokenExpiry(now, refreshTokenTtlSeconds, session.expiresAt),
      rotatedAt: null,
    });
    return {
      kind: 'issued',
      response: { access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: scope.join(' '), refresh_token: next.token },
    };
  });

  switch (outcome.kind) {
    case 'issued':
      return outcome.response;
    case 'refused':
      throw outcome.error;
    case 'reused':
      deps.log.warn('refresh token reuse: session ended', { sid: outcome.sessionId, client_id: client.id });
      throw invalidGrant(INVALID, 'refresh token reuse');
  }
};
