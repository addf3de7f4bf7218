/** POST /token (RFC 6749 §3.2): authenticate the client, then dispatch on grant_type. */
import type { Context } from 'koa';
import type { Deps } from '../deps.js';
import { invalidRequest, unauthorizedClient, unsupportedGrantType } from '../errors.js';
import { grants } from '../grants/index.js';
import { authenticateClient } from '../http/client-auth.js';
import { allowClientOrigin } from '../http/cors.js';
import { readForm } from '../http/form.js';

export function tokenEndpoint(deps: Deps) {
  return async function token(ctx: Context): Promise<void> {
    const params = await readForm(ctx);
    const client = await authenticateClient(ctx, params, deps);
    allowClientOrigin(ctx, client);
    const grantType = params.get('grant_type');
    if (grantType === undefined) throw invalidRequest('grant_type is required');
    const grant = grants.get(grantType);
    if (!grant) throw unsupportedGrantType('This grant type is not supported');
    if (!client.grantTypes.includes(grantType)) throw unauthorizedClient('This client may not use this grant type');
    ctx.body = await grant({ client, params, deps, ip: ctx.ip });
    deps.metrics.tokenIssued(grantType, client.id);
  };
}
