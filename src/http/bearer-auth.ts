/**
 * Bearer authentication (RFC 6750) for the issuer's own API: the token must be active, issued for this issuer
 * (`aud`), and carry `scope`.
 */
import type { Context, Next } from 'koa';
import type { Deps } from '../deps.js';
import { bearerInvalid, bearerMalformed, bearerMissing, insufficientScope } from '../errors.js';
import { noteRequest } from '../observability/request-scope.js';
import { inspectAccessToken, type ActiveAccessToken } from '../tokens/introspection.js';

export interface BearerState {
  token: ActiveAccessToken;
}

/** `scope`: the scope the token must carry, or a list of scopes of which it must carry one. */
export function requireBearer(deps: Deps, scope: string | readonly string[]) {
  const accepted = typeof scope === 'string' ? [scope] : scope;
  return async function bearer(ctx: Context, next: Next): Promise<void> {
    const header = ctx.get('authorization');
    // RFC 6750 §3: no credentials (or another scheme) get a bare challenge; a Bearer header without a usable
    // token is a malformed request.
    if (!/^Bearer(\s|$)/i.test(header)) throw bearerMissing();
    const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
    if (!match) throw bearerMalformed();
    const active = await inspectAccessToken(deps, match[1]!);
    if (!active || active.claims.aud !== deps.issuer) throw bearerInvalid();
    noteRequest({ clientId: active.claims.client_id });
    const granted = active.claims.scope.split(' ');
    if (!accepted.some((s) => granted.includes(s))) throw insufficientScope(accepted[0]!);
    (ctx.state as BearerState).token = active;
    await next();
  };
}
