/** POST /introspect (RFC 7662 §2): for clients registered with --introspect, i.e. resource servers. */
import type { Context } from 'koa';
import type { Deps } from '../deps.js';
import { invalidClient, invalidRequest } from '../errors.js';
import { authenticateClient } from '../http/client-auth.js';
import { readForm } from '../http/form.js';
import { introspect } from '../tokens/introspection.js';

export function introspectionEndpoint(deps: Deps) {
  return async function introspection(ctx: Context): Promise<void> {
    const params = await readForm(ctx);
    const caller = await authenticateClient(ctx, params, deps);
    // RFC 7662 §2.1: the endpoint "MUST also require some form of authorization"; §4: against token scanning.
    // A public client never introspects, whatever its row says: anyone can claim its client_id.
    if (!caller.introspect || caller.publicClient) throw invalidClient('client is not allowed to introspect');
    const token = params.get('token');
    if (token === undefined) throw invalidRequest('token is required');
    // token_type_hint is ignored: both token types are recognised by their form (RFC 7662 §2.1 allows it).
    const answer = await introspect(deps, caller, token);
    deps.metrics.introspected(answer.active, caller.id);
    ctx.body = answer;
  };
}
