/**
 * RFC 6749 §6 with rotation (RFC 9700 §4.14.2): every use returns a new refresh token and consumes the old one.
 * A consumed token that comes back after the grace period means two parties hold it, so the whole session ends.
 *
 * With a grace period (GATEHOUSE_REFRESH_GRACE_SECONDS), a rotated token presented again soon after (the client
 * lost the response) gets another successor, a sibling of the first. Siblings are one family: the first of them
 * used supersedes the others, and a superseded one that comes back ends the session, as does a replay after any
 * successor was used. So the grace window cannot be used to fork a stolen token into independent chains.
 *
 * The decision is a pure function of what is stored (`plan`); the store carries it out atomically, consuming the
 * token with a conditional UPDATE, so of concurrent refreshes exactly one wins (storage/refresh-rotation.ts).
 * The access token is signed after the commit; that a key can sign is checked before anything is consumed.
 */
import { auditRecord } from '../audit/audit.js';
import { invalidGrant, invalidRequest, invalidScope, invalidTarget, type OAuthError } from '../errors.js';
import { isSubset, parseScope } from '../lib/scope.js';
import { accessTokenExpiry, isSessionAlive, isWithinRefreshGrace, refreshTokenExpiry } from '../sessions/lifetime.js';
import type { RotationStep } from '../storage/refresh-rotation.js';
import type { RefreshTokenContext } from '../storage/refresh-tokens.js';
import { hashRefreshToken, newRefreshToken } from '../tokens/refresh-token.js';
import { mintAccessToken, type GrantHandler, type GrantRequest } from './shared.js';

const INVALID = 'The refresh token is invalid, expired or revoked';

type Outcome =
  | { kind: 'refused'; error: OAuthError }
  | { kind: 'reused'; sessionId: string }
  | { kind: 'rotated'; context: RefreshTokenContext; scope: string[]; refreshToken: string };

const refuse = (error: OAuthError): RotationStep<Outcome> => ({ kind: 'answer', result: { kind: 'refused', error } });

/** What to do with the presented token, given what is stored, at `now`. */
function plan(request: GrantRequest, requestedScope: string[] | undefined, now: number, found: RefreshTokenContext | undefined): RotationStep<Outcome> {
  const { client, params, deps, ip } = request;
  if (!found) return refuse(invalidGrant(INVALID, 'unknown refresh token'));
  const { token, session, user } = found;
  // RFC 6749 §10.4: the token is bound to its client. Another client's attempt changes nothing.
  if (session.clientId !== client.id) return refuse(invalidGrant(INVALID, 'issued to another client'));
  if (!isSessionAlive(session, user.disabledAt !== null, now)) return refuse(invalidGrant(INVALID, 'session not alive'));

  const endSession: RotationStep<Outcome> = {
    kind: 'end-session',
    sessionId: session.id,
    at: now,
    audit: auditRecord(now, { type: 'refresh_reuse', actor: `ip:${ip}`, subject: user.username, clientId: client.id, detail: `sid ${session.id} ended` }),
    event: { type: 'session_revoked', sessionId: session.id, userId: user.id, clientId: session.clientId, reason: 'refresh_reuse', initiator: 'policy' },
    result: { kind: 'reused', sessionId: session.id },
  };
  // A token superseded by a sibling (another successor of its parent was used first) is never good again, and a
  // rotated token that comes back is evidence of theft whenever it comes, even past its own expiry, unless it is
  // a replay within the grace period (a lost response) from before any successor of it was used.
  if (token.supersededAt !== null) return endSession;
  const replay = token.rotatedAt !== null;
  if (replay && (token.childUsedAt !== null || !isWithinRefreshGrace(token.rotatedAt!, deps.config.refreshGraceSeconds, now))) return endSession;
  if (now >= token.expiresAt) return refuse(invalidGrant(INVALID, 'refresh token expired'));

  // RFC 6749 §6: the scope may be narrowed, never widened; the session keeps its full scope.
  const scope = requestedScope ?? session.scope;
  if (!isSubset(scope, session.scope)) return refuse(invalidScope('The requested scope exceeds the scope originally granted'));
  const resource = params.get('resource');
  if (resource !== undefined && resource !== session.audience) return refuse(invalidTarget('The resource differs from the one this session was granted'));

  const next = newRefreshToken();
  return {
    kind: 'rotate',
    presented: token.tokenHash,
    replay,
    parent: token.parentHash,
    at: now,
    issue: {
      tokenHash: next.hash,
      sessionId: session.id,
      // A successor minted by a replay is a sibling of the one the lost response carried: one family.
      parentHash: token.tokenHash,
      createdAt: now,
      expiresAt: refreshTokenExpiry(now, deps.config.refreshTokenTtlSeconds, session.expiresAt),
      rotatedAt: null,
    },
    result: { kind: 'rotated', context: found, scope, refreshToken: next.token },
  };
}

export const refreshTokenGrant: GrantHandler = async (request) => {
  const { client, params, deps } = request;
  const presented = params.get('refresh_token');
  if (presented === undefined) throw invalidRequest('refresh_token is required');
  const rawScope = params.get('scope');
  const requestedScope = rawScope === undefined ? undefined : parseScope(rawScope);
  if (requestedScope === null) throw invalidScope('The scope is malformed');
  deps.keys.signingKey(); // fails here, before anything is consumed, if no key can sign

  const now = deps.clock.now();
  const outcome = await deps.store.refreshRotation.rotate(hashRefreshToken(presented), (found) => plan(request, requestedScope, now, found));
  switch (outcome.kind) {
    case 'refused':
      throw outcome.error;
    case 'reused':
      deps.log.warn('refresh token reuse: session ended', { sid: outcome.sessionId, client_id: client.id });
      deps.metrics.reuseDetected();
      deps.metrics.sessionsEndedBy('refresh_reuse');
      throw invalidGrant(INVALID, 'refresh token reuse');
    case 'rotated': {
      const { session, user } = outcome.context;
      const exp = accessTokenExpiry(now, deps.config.accessTokenTtlSeconds, session.expiresAt);
      const { token, expiresIn } = await mintAccessToken(deps, { sub: user.id, clientId: client.id, scope: outcome.scope, aud: session.audience, exp, sid: session.id });
      return { access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: outcome.scope.join(' '), refresh_token: outcome.refreshToken };
    }
  }
};
