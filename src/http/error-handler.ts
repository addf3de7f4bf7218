import type { Context, Next } from 'koa';
import { OAuthError, serverError, temporarilyUnavailable } from '../errors.js';
import type { PageState } from '../browser/respond.js';
import { describeError, type Logger } from '../lib/log.js';
import { errorPage } from '../pages/error.js';
import { isDatabaseUnavailable } from '../storage/database.js';
import type { Metrics } from '../observability/metrics.js';
import { RequestAborted } from './form.js';
import { routeOf } from './request-log.js';

/**
 * The one place that writes error responses: RFC 6749 §5.2 JSON with the error's headers, or on the browser-facing
 * routes an HTML page with the same message. A fault of the
 * database becomes 503 temporarily_unavailable; anything unexpected becomes a bare 500 server_error and a log
 * line. Internals never reach the client.
 */
export function errorHandler(log: Logger, metrics?: Pick<Metrics, 'databaseUnavailableError'>) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (caught) {
      let error: OAuthError;
      if (caught instanceof OAuthError) {
        error = caught;
      } else if (isDatabaseUnavailable(caught)) {
        log.warn('database unavailable', { method: ctx.method, route: routeOf(ctx), error: describeError(caught) });
        metrics?.databaseUnavailableError();
        error = temporarilyUnavailable();
      } else if (caught instanceof RequestAborted) {
        return; // the client went away mid-request: nobody to answer
      } else {
        log.error('unexpected error', { method: ctx.method, route: routeOf(ctx), error: describeError(caught) });
        error = serverError();
      }
      ctx.status = error.status;
      ctx.set(error.headers);
      if ((ctx.state as PageState).page) {
        // A browser-facing route (browser/respond.ts): the user reads the error, on a page with the same
        // security headers as every other page.
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = errorPage(error.status, error.description ?? 'The request cannot be completed.');
      } else {
        ctx.body = error.body();
      }
    }
  };
}
