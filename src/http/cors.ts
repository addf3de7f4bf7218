/**
 * CORS (Fetch standard, "CORS protocol") for browser apps, on /token and /revoke only: a page may read the answer
 * when its origin is registered for the client named in the request (`--origin`, public clients only). No
 * wildcard and no Access-Control-Allow-Credentials: these endpoints need no cookies, and an origin that is not
 * registered gets no CORS header at all, so the browser keeps the answer from the page.
 */
import type { Context, Next } from 'koa';
import type { ClientRecord } from '../storage/clients.js';
import type { Store } from '../storage/store.js';

/** How long a browser may cache a preflight answer. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** Route middleware: the answer depends on Origin, so caches must key on it. */
export async function varyOnOrigin(ctx: Context, next: Next): Promise<void> {
  ctx.vary('Origin');
  await next();
}

/**
 * Once the endpoint knows the client: lets the page read the answer if its origin is one of the client's. Set
 * before the grant runs, so that errors (400 invalid_grant: "log in again") are readable by the page too.
 */
export function allowClientOrigin(ctx: Context, client: ClientRecord): void {
  const origin = ctx.get('origin');
  if (origin !== '' && client.origins.includes(origin)) ctx.set('Access-Control-Allow-Origin', origin);
}

/**
 * The preflight (OPTIONS with Origin and Access-Control-Request-Method) carries no body, so it names no client:
 * it is answered for an origin that some enabled client registered; the request that follows is then checked
 * against its own client. Any other OPTIONS goes on to the usual 204 with Allow.
 */
export function corsPreflight(store: Store, paths: readonly string[]) {
  const corsPaths = new Set(paths);
  return async function preflight(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== 'OPTIONS' || !corsPaths.has(ctx.path)) return next();
    ctx.vary('Origin');
    const origin = ctx.get('origin');
    if (origin === '' || ctx.get('access-control-request-method') === '') return next();
    if (!(await store.clients.isOriginRegistered(origin))) return next();
    ctx.status = 204;
    ctx.set({
      'Access-Control-Allow-Origin': origin,
      'Access-Control-Allow-Methods': 'POST',
      // Public clients send a form and nothing else: no Authorization header, no cookies.
      'Access-Control-Allow-Headers': 'Content-Type',
      'Access-Control-Max-Age': String(PREFLIGHT_MAX_AGE_SECONDS),
    });
  };
}
