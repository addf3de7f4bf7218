import type { Context, Next } from 'koa';

/**
 * RFC 6749 §5.1: responses carrying tokens or credentials "MUST include the HTTP Cache-Control response header
 * field with a value of no-store … as well as the Pragma response header field with a value of no-cache".
 * RFC 9111 deprecates Pragma; RFC 6749 still asks for it, so both are sent, on errors too.
 */
export async function noStore(ctx: Context, next: Next): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
  await next();
}
