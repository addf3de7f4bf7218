/**
 * The outermost layer of every request: its id, its one log line and its HTTP metrics.
 *
 * The id is the caller's `X-Request-Id` when that is a plausible id (so that a request can be followed from the
 * load balancer or the calling service), otherwise a new UUID; it is sent back in `X-Request-Id` and carried by
 * every log line the request causes (observability/request-scope.ts). The summary line names the method, the
 * route (the router's template, never the raw path, which may hold a username), the status, the duration, the
 * client and the throttle's decision; nothing from the request body, so no secret can reach it.
 */
import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { IssuerLogger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { runInRequestScope, type RequestScope } from '../observability/request-scope.js';

/** Printable, no spaces or quotes, at most 128 characters: UUIDs, ULIDs, hex, base64 and dotted trace ids fit. */
const REQUEST_ID = /^[A-Za-z0-9._~:+/=-]{1,128}$/;

/** The route template @koa/router matched (e.g. /admin/sessions/:sid), or a fixed word: a bounded label. */
export function routeOf(ctx: Context): string {
  return (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? (ctx.status === 404 ? 'unmatched' : 'other');
}

export function observeRequests(log: IssuerLogger, metrics: Metrics) {
  return async function observe(ctx: Context, next: Next): Promise<void> {
    const started = process.hrtime.bigint();
    const offered = ctx.get('x-request-id');
    const scope: RequestScope = { id: REQUEST_ID.test(offered) ? offered : randomUUID() };
    ctx.set('X-Request-Id', scope.id);
    await runInRequestScope(scope, async () => {
      try {
        await next();
      } finally {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const route = routeOf(ctx);
        metrics.request(route, ctx.method, ctx.status, seconds);
        log.request({
          method: ctx.method,
          route,
          status: ctx.status,
          duration_ms: Math.round(seconds * 1e6) / 1e3,
          client_id: scope.clientId,
          throttle: scope.throttle,
        });
      }
    });
  };
}
