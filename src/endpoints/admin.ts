/**
 * The admin API, for the rest of the business system: list and end sessions. Callers authenticate with a
 * client_credentials token carrying `gatehouse:admin`, issued for this issuer.
 */
import Router from '@koa/router';
import type { Deps } from '../deps.js';
import { notFound } from '../errors.js';
import { requireBearer, type BearerState } from '../http/bearer-auth.js';
import { ADMIN_SCOPE } from '../grants/shared.js';
import { endSession, endUserSessions, listSessions, sessionJson } from '../sessions/control.js';

/** Who is acting, for the audit trail: the client whose admin token authorised the request. */
function adminActor(ctx: { state: unknown }): string {
  return `admin-api:${(ctx.state as BearerState).token.claims.client_id}`;
}

export function adminRoutes(deps: Deps, prefix: string): Router {
  const router = new Router({ prefix, strict: true, sensitive: true });
  // Per route rather than router.use(): a wrong method is answered 405 before any authentication.
  const admin = requireBearer(deps, ADMIN_SCOPE);

  router.get('/users/:username/sessions', admin, async (ctx) => {
    const sessions = await listSessions(deps.store, deps.clock.now(), ctx.params.username!);
    if (!sessions) throw notFound('No such user');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = sessions.map(sessionJson);
  });

  router.delete('/users/:username/sessions', admin, async (ctx) => {
    const ended = await endUserSessions(deps.store, ctx.params.username!, deps.clock.now(), adminActor(ctx));
    if (ended === undefined) throw notFound('No such user');
    deps.log.info('sessions ended', { count: ended, by: 'admin api' });
    deps.metrics.sessionsEndedBy('admin', ended);
    ctx.status = 204;
  });

  router.delete('/sessions/:sid', admin, async (ctx) => {
    const ended = await endSession(deps.store, ctx.params.sid!, deps.clock.now(), adminActor(ctx));
    if (ended === 'not-found') throw notFound('No such session');
    deps.metrics.sessionsEndedBy('admin', ended);
    deps.log.info('session ended', { sid: ctx.params.sid, by: 'admin api' });
    ctx.status = 204;
  });

  return router;
}
