/**
 * Bearer authentication (RFC 6750) for the issuer's own API: the token must be active, issued for this issuer
 * (`aud`), and carry `scope`.
 */
import type { Context, Next } from 'koa';
import type { Deps } from '../deps.js';
import { bearerInvalid, bearerMissing, insufficientScope } from '../errors.js';
import { inspectAccessToken, type ActiveAccessToken } from '../tokens/introspection.js';

export interface BearerState {
  token: ActiveAccessToken;
}

export function requireBearer(deps: Deps, scope: string) {
  return async function bearer(ctx: Context, next: Next): Promise<void> {
    const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(ctx.get('authorization'));
    if (!match) throw bearerMissing();
    const active = await inspectAccessToken(deps, match[1]!);
    if (!active || active.claims.aud !== deps.issuer) throw bearerInvalid();
    if (!active.claims.scope.split(' ').includes(scope)) throw insufficientScope(scope);
    (ctx.state as BearerState).token = active;
    await next();
  };
}
