/**
 * POST /login: the login form of a pending authorization request. The same password check and the same
 * throttling as the password grant (security/credentials.ts); a success opens (or renews) this browser's login
 * session and continues the request.
 */
import type { Context } from 'koa';
import { clientForFlow, finishFlow, showLogin } from '../browser/answers.js';
import { assertFormFromIssuer } from '../browser/csrf.js';
import { loadFlow } from '../browser/flow.js';
import { currentLogin, openLoginSession } from '../browser/login-session.js';
import type { Deps } from '../deps.js';
import { OAuthError } from '../errors.js';
import { readForm } from '../http/form.js';
import { BAD_CREDENTIALS, checkCredentials, type CheckedLogin } from '../security/credentials.js';

/** What the user reads for each refusal of the password check (the same words whatever the reason, as at /token). */
function refusal(error: OAuthError): { status: number; message: string } | undefined {
  if (error.code === 'invalid_grant') return { status: 400, message: BAD_CREDENTIALS };
  if (error.status === 429) return { status: 429, message: `Too many attempts. Wait ${error.headers['Retry-After'] ?? 'a few'} seconds, then try again.` };
  if (error.status === 503) return { status: 503, message: 'Too many logins are being checked right now. Try again in a moment.' };
  return undefined;
}

export function loginEndpoint(deps: Deps) {
  return async function login(ctx: Context): Promise<void> {
    assertFormFromIssuer(ctx, deps.issuer);
    const params = await readForm(ctx);
    const flowId = params.get('flow');
    const flow = await loadFlow(deps, ctx, flowId);
    const client = await clientForFlow(deps, flow);
    const form = { flow: flowId!, clientId: client.id, redirectUri: flow.redirectUri };
    const username = params.get('username');
    const password = params.get('password');
    if (username === undefined || password === undefined) {
      return showLogin(ctx, deps, { ...form, username, error: 'Enter your username and your password.' }, 400);
    }
    let checked: CheckedLogin;
    try {
      checked = await checkCredentials(deps, client.id, username, password, ctx.ip);
    } catch (error) {
      const refused = error instanceof OAuthError ? refusal(error) : undefined;
      if (!refused) throw error;
      if (error instanceof OAuthError) ctx.set(error.headers);
      return showLogin(ctx, deps, { ...form, username, error: refused.message }, refused.status);
    }
    const previous = await currentLogin(deps, ctx);
    const loginSessionId = await openLoginSession(deps, ctx, checked, previous?.session, client.id);
    if (loginSessionId === undefined) {
      deps.metrics.login('failed');
      return showLogin(ctx, deps, { ...form, username, error: BAD_CREDENTIALS }, 400);
    }
    await checked.succeeded();
    deps.metrics.login('ok');
    await deps.store.authorizationRequests.attachLoginSession(flow.idHash, loginSessionId);
    await finishFlow(deps, ctx, flowId!, { ...flow, loginSessionId }, client, { id: loginSessionId, userId: checked.user.id, username: checked.user.username });
  };
}
