/**
 * GET /.well-known/oauth-authorization-server (RFC 8414). When the issuer has a path, the well-known segment
 * goes between host and path (§3.1); the endpoints hang off the issuer URL (see app.ts).
 */
import type { Context } from 'koa';
import type { Deps } from '../deps.js';
import { GRANT_TYPES } from '../grants/index.js';
import { ADMIN_SCOPE } from '../grants/shared.js';

const AUTH_METHODS = ['client_secret_basic', 'client_secret_post'];
/** Public clients (RFC 7591 §2 "none": client_id in the body, no secret) log in, renew and revoke; never introspect. */
const PUBLIC_AUTH_METHODS = [...AUTH_METHODS, 'none'];

export function metadataEndpoint(deps: Deps) {
  return async function metadata(ctx: Context): Promise<void> {
    const scopes = new Set<string>();
    for (const client of await deps.store.clients.list()) {
      if (client.disabledAt === null) client.scope.forEach((scope) => scopes.add(scope));
    }
    // The admin API's scope is no business of the public: it is granted to operators' clients only.
    scopes.delete(ADMIN_SCOPE);
    const issuer = deps.issuer;
    ctx.set('Cache-Control', 'public, max-age=300');
    // `response_types_supported` is REQUIRED by RFC 8414 §2 but this server has no authorization endpoint, and
    // §3.2 forbids empty arrays: it is left out (see README).
    ctx.body = {
      issuer,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      introspection_endpoint: `${issuer}/introspect`,
      revocation_endpoint: `${issuer}/revoke`,
      grant_types_supported: GRANT_TYPES,
      token_endpoint_auth_methods_supported: PUBLIC_AUTH_METHODS,
      introspection_endpoint_auth_methods_supported: AUTH_METHODS,
      revocation_endpoint_auth_methods_supported: PUBLIC_AUTH_METHODS,
      ...(scopes.size > 0 ? { scopes_supported: [...scopes].sort() } : {}),
    };
  };
}
