/**
 * POST /revoke (RFC 7009). A refresh token ends its whole session (logout); an access token is revoked alone.
 * Tokens that are unknown or no longer active answer 200 and change nothing (RFC 7009 §2.2); a live token of
 * another client is refused and left untouched (§2.1).
 */
import type { Context } from 'koa';
import type { Deps } from '../deps.js';
import { audit } from '../audit/audit.js';
import { invalidRequest, unauthorizedClient } from '../errors.js';
import { authenticateClient } from '../http/client-auth.js';
import { allowClientOrigin } from '../http/cors.js';
import { readForm } from '../http/form.js';
import { looksLikeJwt } from '../tokens/access-token.js';
import { inspectAccessToken } from '../tokens/introspection.js';
import { hashRefreshToken } from '../tokens/refresh-token.js';

const NOT_YOURS = 'The token was not issued to this client';

export function revocationEndpoint(deps: Deps) {
  return async function revoke(ctx: Context): Promise<void> {
    const params = await readForm(ctx);
    const client = await authenticateClient(ctx, params, deps);
    allowClientOrigin(ctx, client);
    const token = params.get('token');
    if (token === undefined) throw invalidRequest('token is required');
    const now = deps.clock.now();

    // token_type_hint is only a hint; an invalid value "is ignored" (RFC 7009 §2.2).
    if (looksLikeJwt(token)) {
      const active = await inspectAccessToken(deps, token);
      if (active) {
        if (active.claims.client_id !== client.id) throw unauthorizedClient(NOT_YOURS);
        const { claims } = active;
        await deps.store.transaction(async (tx) => {
          // Revoked once: a second /revoke of the same token changes nothing and writes no event.
          if (!(await tx.revocations.revokeAccessToken(claims.jti, claims.exp, now))) return;
          await tx.events.append(now, { type: 'token_revoked', jti: claims.jti, sessionId: claims.sid ?? null, userId: claims.sid === undefined ? null : claims.sub, clientId: claims.client_id, reason: 'revoked', initiator: 'user' });
        });
      }
    } else {
      const stored = await deps.store.refreshTokens.find(hashRefreshToken(token));
      const session = stored && (await deps.store.sessions.find(stored.sessionId));
      if (session && session.endedAt === null) {
        if (session.clientId !== client.id) throw unauthorizedClient(NOT_YOURS);
        // RFC 7009 §2.1: revoking a refresh token "SHOULD also invalidate all access tokens based on the same
        // authorization grant": ending the session does exactly that. This holds for an already rotated
        // refresh token of the session too: logging out with an older token still logs out.
        const user = await deps.store.users.findById(session.userId);
        const ended = await deps.store.transaction(async (tx) => {
          if (!(await tx.sessions.end(session.id, now, 'revoked'))) return false;
          await audit(tx, now, { type: 'session_ended', actor: `client:${client.id}`, subject: user?.username ?? null, clientId: client.id, detail: `sid ${session.id} revoked` });
          await tx.events.append(now, { type: 'session_revoked', sessionId: session.id, userId: session.userId, clientId: session.clientId, reason: 'revoked', initiator: 'user' });
          return true;
        });
        if (ended) deps.metrics.sessionsEndedBy('revoked');
      }
    }
    ctx.status = 200;
    ctx.body = '';
  };
}
