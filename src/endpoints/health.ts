/**
 * GET /healthz: the process answers. GET /readyz: this instance can do its work — the database answers and a
 * signing key is loaded — so a load balancer sends it traffic; 503 otherwise, and it recovers by itself.
 */
import type { Context } from 'koa';
import type { Deps } from '../deps.js';

export function healthEndpoint(ctx: Context): void {
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { status: 'ok' };
}

export function readinessEndpoint(deps: Deps) {
  return async function readiness(ctx: Context): Promise<void> {
    const database = await deps.store.ping().then(
      () => true,
      () => false,
    );
    const signingKey = deps.keys.ring.signing !== undefined;
    ctx.set('Cache-Control', 'no-store');
    if (database && signingKey) {
      ctx.body = { status: 'ready' };
      return;
    }
    ctx.status = 503;
    ctx.set('Retry-After', '2');
    ctx.body = { status: 'not_ready', database, signing_key: signingKey };
  };
}
