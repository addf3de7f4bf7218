/**
 * createApp(deps): the middleware order and the routes. Nothing runs at import time and nothing is read from the
 * environment, so a test builds a whole issuer in one line.
 */
import Router from '@koa/router';
import Koa, { type Context, type Next } from 'koa';
import type { Deps } from './deps.js';
import { adminRoutes } from './endpoints/admin.js';
import { introspectionEndpoint } from './endpoints/introspect.js';
import { jwksEndpoint } from './endpoints/jwks.js';
import { metadataEndpoint, metadataPath } from './endpoints/metadata.js';
import { revocationEndpoint } from './endpoints/revoke.js';
import { tokenEndpoint } from './endpoints/token.js';
import { methodNotAllowed, notFound } from './errors.js';
import { errorHandler } from './http/error-handler.js';
import { noStore } from './http/no-store.js';

export function createApp(deps: Deps): Koa {
  const app = new Koa({ proxy: false });
  app.silent = true; // errorHandler logs what matters; Koa's own handler would print stacks

  const router = new Router();
  router.post('/token', noStore, tokenEndpoint(deps));
  router.post('/introspect', noStore, introspectionEndpoint(deps));
  router.post('/revoke', noStore, revocationEndpoint(deps));
  router.get('/.well-known/jwks.json', jwksEndpoint(deps));
  const metadata = metadataEndpoint(deps);
  router.get('/.well-known/oauth-authorization-server', metadata);
  if (metadataPath(deps.issuer) !== '/.well-known/oauth-authorization-server') router.get(metadataPath(deps.issuer), metadata);
  const admin = adminRoutes(deps);

  app.use(errorHandler(deps.log));
  app.use(methodGuard);
  app.use(router.routes());
  app.use(admin.routes());
  return app;
}

/**
 * Requests no route answered: a known path with another method is 405 with Allow (RFC 9110 §15.5.6), OPTIONS
 * lists the methods, and every other path is a JSON 404.
 */
async function methodGuard(ctx: Context, next: Next): Promise<void> {
  await next();
  if (ctx.body !== undefined || ctx.status !== 404) return;
  const matched = (ctx as Context & { matched?: Array<{ methods: string[] }> }).matched ?? [];
  const allowed = [...new Set(matched.flatMap((layer) => layer.methods))];
  if (allowed.length === 0) throw notFound();
  if (ctx.method === 'OPTIONS') {
    ctx.set('Allow', [...allowed, 'OPTIONS'].join(', '));
    ctx.status = 204;
    return;
  }
  throw methodNotAllowed(allowed);
}
