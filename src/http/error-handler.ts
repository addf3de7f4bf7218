import type { Context, Next } from 'koa';
import { OAuthError, serverError, temporarilyUnavailable } from '../errors.js';
import type { Logger } from '../lib/log.js';
import { isDatabaseUnavailable } from '../storage/database.js';
import { RequestAborted } from './form.js';

/**
 * The one place that writes error responses: RFC 6749 §5.2 JSON with the error's headers. A fault of the
 * database becomes 503 temporarily_unavailable; anything unexpected becomes a bare 500 server_error and a log
 * line. Internals never reach the client.
 */
export function errorHandler(log: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (caught) {
      let error: OAuthError;
      if (caught instanceof OAuthError) {
        error = caught;
      } else if (isDatabaseUnavailable(caught)) {
        log.warn('database unavailable', { method: ctx.method, path: ctx.path, error: describe(caught) });
        error = temporarilyUnavailable();
      } else if (caught instanceof RequestAborted) {
        return; // the client went away mid-request: nobody to answer
      } else {
        log.error('unexpected error', { method: ctx.method, path: ctx.path, error: describe(caught) });
        error = serverError();
      }
      ctx.status = error.status;
      ctx.set(error.headers);
      ctx.body = error.body();
    }
  };
}

/**
 * The error's class, code, message and first stack frame. knex prefixes a driver's message with the SQL and its
 * bound values ("insert into … - UNIQUE constraint failed"): that part is cut, so no bound value reaches a log.
 */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const code = (error as { code?: unknown }).code;
  let message = error.message;
  if (/^\s*(select|insert|update|delete|with|create|alter|drop|pragma|begin|commit)\b/i.test(message)) {
    const cut = message.lastIndexOf(' - ');
    message = cut === -1 ? '(query failed)' : message.slice(cut + 3);
  }
  const frame = error.stack?.split('\n')[1]?.trim();
  return `${error.name}${code ? ` ${String(code)}` : ''}: ${message}${frame ? ` (${frame})` : ''}`;
}
