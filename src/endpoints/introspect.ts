/** POST /introspect (RFC 7662 §2): for clients registered with --introspect, i.e. resource servers. */
import type { Context } from 'koa';
import type { Deps } from '../deps.js';
import { invalidClient, invalidRequest } from '../errors.js';
import { authenticateClient, readClientCredentials, type PrereadClient } from '../http/client-auth.js';
import { readForm, type FormParams } from '../http/form.js';
import { introspect, type PrereadState } from '../tokens/introspection.js';

export function introspectionEndpoint(deps: Deps) {
  return async function introspection(ctx: Context): Promise<void> {
    const params = await readForm(ctx);
    const ahead = await readAhead(ctx, params, deps);
    const caller = await authenticateClient(ctx, params, deps, ahead?.caller);
    // RFC 7662 §2.1: the endpoint "MUST also require some form of authorization"; §4: against token scanning.
    // A public client never introspects, whatever its row says: anyone can claim its client_id.
    if (!caller.introspect || caller.publicClient) throw invalidClient('client is not allowed to introspect');
    const token = params.get('token');
    if (token === undefined) throw invalidRequest('token is required');
    // token_type_hint is ignored: both token types are recognised by their form (RFC 7662 §2.1 allows it).
    const answer = await introspect(deps, caller, token, ahead?.state);
    deps.metrics.introspected(answer.active, caller.id);
    ctx.body = answer;
  };
}

/**
 * The usual introspection asks again about a token seen before (an API checks a token on each of its calls):
 * its claims are then in the verified-token cache, and the caller's client row and the token's state are read
 * in one statement (one round trip on PostgreSQL) instead of two. Nothing is decided here: the caller is
 * authenticated and the token judged exactly as without it, from the same rows. A token the cache does not
 * hold (no signature is checked before the caller is authenticated) or credentials that do not parse take the
 * usual path.
 */
async function readAhead(ctx: Context, params: FormParams, deps: Deps): Promise<{ caller: PrereadClient; state: PrereadState | undefined } | undefined> {
  const token = params.get('token');
  const claims = token === undefined ? undefined : deps.keys.verifiedTokens.get(token)?.claims;
  if (!claims) return undefined;
  let callerId: string;
  try {
    callerId = readClientCredentials(ctx, params).clientId;
  } catch {
    return undefined; // authenticateClient gives the answer
  }
  if (callerId.length > 128) return undefined;
  const { caller, state } = await deps.store.tokenState.callerAndTokenState(callerId, { clientId: claims.client_id, sid: claims.sid ?? null, jti: claims.jti });
  return { caller: { id: callerId, client: caller }, state: caller ? { jti: claims.jti, state } : undefined };
}
