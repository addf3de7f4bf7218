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
    ctx.body = {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      introspection_endpoint: `${issuer}/introspect`,
      revocation_endpoint: `${issuer}/revoke`,
      grant_types_supported: GRANT_TYPES,
      token_endpoint_auth_methods_supported: PUBLIC_AUTH_METHODS,
      introspection_endpoint_auth_methods_supported: AUTH_METHODS,
      revocation_endpoint_auth_methods_supported: PUBLIC_AUTH_METHODS,
      // RFC 8414 §2: REQUIRED; only the authorization code flow (RFC 9700 §2.1.2: no implicit grant).
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      // RFC 7636 §6.2 / RFC 8414 §2: PKCE is required of every client, and only with S256 (RFC 9700 §2.1.1).
      code_challenge_methods_supported: ['S256'],
      // RFC 9207 §3: every authorization response carries `iss`.
      authorization_response_iss_parameter_supported: true,
      ...(scopes.size > 0 ? { scopes_supported: [...scopes].sort() } : {}),
    };
  };
}
