/**
 * createApp(deps): the middleware order and the routes. Nothing runs at import time and nothing is read from the
 * environment, so a test builds a whole issuer in one line.
 */
import Router from '@koa/router';
import Koa, { type Context, type Next } from 'koa';
import type { Deps } from './deps.js';
import { asPage } from './browser/respond.js';
import { adminRoutes } from './endpoints/admin.js';
import { authorizationEndpoint } from './endpoints/authorize.js';
import { consentEndpoint } from './endpoints/consent.js';
import { loginEndpoint } from './endpoints/login.js';
import { logoutEndpoint, logoutPageEndpoint } from './endpoints/logout.js';
import { introspectionEndpoint } from './endpoints/introspect.js';
import { healthEndpoint, readinessEndpoint } from './endpoints/health.js';
import { jwksEndpoint } from './endpoints/jwks.js';
import { metadataEndpoint } from './endpoints/metadata.js';
import { openApiEndpoint } from './endpoints/openapi.js';
import { revocationEndpoint } from './endpoints/revoke.js';
import { ssfConfigurationEndpoint, ssfRoutes } from './endpoints/ssf.js';
import { tokenEndpoint } from './endpoints/token.js';
import { methodNotAllowed, notFound } from './errors.js';
import { resolveClientAddress } from './http/client-address.js';
import { corsPreflight, varyOnOrigin } from './http/cors.js';
import { errorHandler } from './http/error-handler.js';
import { noStore } from './http/no-store.js';
import { observeRequests } from './http/request-log.js';
import { issuerPath } from './lib/issuer-path.js';

export { issuerPath };

export function createApp(deps: Deps): Koa {
  // Koa's own proxy mode would believe X-Forwarded-Host, -Proto and the left-most X-Forwarded-For entry; the
  // issuer needs none of them, and resolveClientAddress sets ctx.ip from the trusted hops alone.
  const app = new Koa({ proxy: false });
  app.silent = true; // errorHandler logs what matters; Koa's own handler would print stacks

  // Endpoints hang off the issuer URL: with GATEHOUSE_ISSUER=https://host/tenant they are /tenant/token etc.,
  // and the metadata sits at /.well-known/oauth-authorization-server/tenant (RFC 8414 §3.1).
  const base = issuerPath(deps.issuer);
  // Exact paths only: the endpoints are the URLs the metadata and /openapi.json name, not /TOKEN or /token/.
  const router = new Router({ strict: true, sensitive: true });
  router.post(`${base}/token`, noStore, varyOnOrigin, tokenEndpoint(deps));
  router.post(`${base}/introspect`, noStore, introspectionEndpoint(deps));
  router.post(`${base}/revoke`, noStore, varyOnOrigin, revocationEndpoint(deps));
  router.get(`${base}/.well-known/jwks.json`, jwksEndpoint(deps));
  router.get(`/.well-known/oauth-authorization-server${base}`, metadataEndpoint(deps));
  // SSF 1.0 §7.2 (RFC 8615): the same placement as RFC 8414's, the well-known segment before the issuer's path.
  router.get(`/.well-known/ssf-configuration${base}`, ssfConfigurationEndpoint(deps));
  // The browser's side: the authorization endpoint and the issuer's own pages (HTML; errors as pages too).
  router.get(`${base}/authorize`, asPage, authorizationEndpoint(deps));
  router.post(`${base}/login`, asPage, loginEndpoint(deps));
  router.post(`${base}/consent`, asPage, consentEndpoint(deps));
  router.get(`${base}/logout`, asPage, logoutPageEndpoint(deps));
  router.post(`${base}/logout`, asPage, logoutEndpoint(deps));
  const admin = adminRoutes(deps, `${base}/admin`);
  const ssf = ssfRoutes(deps, `${base}/ssf`);
  // For load balancers and orchestrators, at the root whatever the issuer path.
  router.get('/healthz', healthEndpoint);
  router.get('/readyz', readinessEndpoint(deps));
  router.get('/openapi.json', openApiEndpoint(deps));

  app.use(resolveClientAddress(deps.config.trustProxyHops));
  app.use(observeRequests(deps.log, deps.metrics));
  app.use(errorHandler(deps.log, deps.metrics));
  app.use(methodGuard);
  // Browser apps (public clients with --origin) call /token and /revoke; nothing else is open to other origins.
  app.use(corsPreflight(deps.store, [`${base}/token`, `${base}/revoke`]));
  app.use(router.routes());
  app.use(admin.routes());
  app.use(ssf.routes());
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
