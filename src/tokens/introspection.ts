/**
 * Whether a token is active right now. The signature and claims are checked against the key ring; everything
 * that can end a token early (session ended or expired, user or client disabled, the token revoked) is read from
 * the database on every call, so an end made anywhere shows at the very next request (RFC 7662 §4).
 */
import type { Deps } from '../deps.js';
import type { AccessTokenState } from '../storage/token-state.js';
import { isSessionAlive } from '../sessions/lifetime.js';
import { looksLikeJwt, verifyAccessToken, type AccessTokenClaims } from './access-token.js';
import { hashRefreshToken } from './refresh-token.js';

export interface ActiveAccessToken {
  claims: AccessTokenClaims;
  /** Present for tokens of a user session. */
  username?: string;
}

/** The state of the token with this `jti`, read already (storage/token-state.ts callerAndTokenState). */
export interface PrereadState {
  jti: string;
  state: AccessTokenState | undefined;
}

export async function inspectAccessToken(deps: Deps, token: string, preread?: PrereadState): Promise<ActiveAccessToken | null> {
  const now = deps.clock.now();
  const claims = await verifyAccessToken(deps.keys.ring, token, deps.issuer, now, deps.keys.verifiedTokens);
  if (!claims) return null;
  const state = preread?.jti === claims.jti ? preread.state : await deps.store.tokenState.accessTokenState(claims.client_id, claims.sid ?? null, claims.jti);
  if (!state || state.clientDisabled || state.revoked) return null;
  if (claims.sid === undefined) return { claims };
  if (!state.session || !isSessionAlive(state.session, state.session.userDisabled, now)) return null;
  return { claims, username: state.session.username };
}

/** RFC 7662 §2.2 for an access token, or `{active:false}` when it is inactive for any reason. */
export type IntrospectionResponse = { active: false } | ({ active: true } & Record<string, string | number | boolean>);

export const INACTIVE: IntrospectionResponse = Object.freeze({ active: false as const });

/**
 * Introspection on behalf of `caller`. An access token is reported only to a resource server it was issued for
 * (its `aud` is one of the caller's audiences, RFC 7662 §4); a refresh token only to the client that holds it.
 */
export async function introspect(
  deps: Deps,
  caller: { id: string; audiences: readonly string[] },
  token: string,
  preread?: PrereadState,
): Promise<IntrospectionResponse> {
  if (looksLikeJwt(token)) {
    const active = await inspectAccessToken(deps, token, preread);
    if (!active || !caller.audiences.includes(active.claims.aud)) return INACTIVE;
    const { claims, username } = active;
    return {
      active: true,
      scope: claims.scope,
      client_id: claims.client_id,
      ...(username === undefined ? {} : { username }),
      token_type: 'Bearer',
      exp: claims.exp,
      iat: claims.iat,
      sub: claims.sub,
      aud: claims.aud,
      iss: claims.iss,
      jti: claims.jti,
      ...(claims.sid === undefined ? {} : { sid: claims.sid }),
    };
  }
  return introspectRefreshToken(deps, caller.id, token);
}

async function introspectRefreshToken(deps: Deps, callerId: string, token: string): Promise<IntrospectionResponse> {
  const now = deps.clock.now();
  const stored = await deps.store.refreshTokens.find(hashRefreshToken(token));
  if (!stored || stored.rotatedAt !== null || now >= stored.expiresAt) return INACTIVE;
  const session = await deps.store.sessions.find(stored.sessionId);
  if (!session || session.clientId !== callerId) return INACTIVE;
  const user = await deps.store.users.findById(session.userId);
  if (!user || !isSessionAlive(session, user.disabledAt !== null, now)) return INACTIVE;
  return {
    active: true,
    scope: session.scope.join(' '),
    client_id: session.clientId,
    username: user.username,
    token_type: 'refresh_token',
    exp: stored.expiresAt,
    iat: stored.createdAt,
    sub: user.id,
    iss: deps.issuer,
    sid: session.id,
  };
}
