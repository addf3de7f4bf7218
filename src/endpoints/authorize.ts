/**
 * GET /authorize (RFC 6749 §4.1.1, response_type=code, PKCE with S256 for every client). A browser that is
 * logged in at the issuer gets its code at once (single sign-on); otherwise the login form, then, for a
 * third-party client the user has not consented to, the consent form.
 */
import type { Context } from 'koa';
import { redirectWithCode, redirectWithError, showConsent, showLogin } from '../browser/answers.js';
import { readAuthorizationRequest } from '../browser/authorization-request.js';
import { issueCode, startFlow } from '../browser/flow.js';
import { currentLogin, mustLogIn, needsConsent } from '../browser/login-session.js';
import type { Deps } from '../deps.js';
import { consentRequired, loginRequired } from '../errors.js';

export function authorizationEndpoint(deps: Deps) {
  return async function authorize(ctx: Context): Promise<void> {
    const read = await readAuthorizationRequest(deps, ctx.querystring);
    // RFC 6749 §4.1.2.1: without a valid client and redirect URI the server "MUST NOT automatically redirect".
    if (read.kind === 'show') throw read.error;
    if (read.kind === 'redirect') return redirectWithError(ctx, deps, read.redirectUri, read.error, read.state);
    const { request } = read;
    const { client, redirectUri, state } = request;

    const login = await currentLogin(deps, ctx);
    if (login && !mustLogIn(login.session, request.prompt, request.maxAge, deps.clock.now())) {
      const { session } = login;
      const consent = await deps.store.consents.find(session.userId, client.id);
      if (!needsConsent(client, consent?.scope, request.scope)) {
        const code = await issueCode(deps, { ...request, clientId: client.id }, session);
        return redirectWithCode(ctx, deps, redirectUri, code!, state);
      }
      // OpenID Connect Core §3.1.2.6: prompt=none must not show any page.
      if (request.prompt === 'none') return redirectWithError(ctx, deps, redirectUri, consentRequired(), state);
      const flow = await startFlow(deps, ctx, request, session.id);
      return showConsent(ctx, deps, { flow, clientId: client.id, redirectUri, username: session.username, scope: request.scope });
    }
    if (request.prompt === 'none') return redirectWithError(ctx, deps, redirectUri, loginRequired(), state);
    const flow = await startFlow(deps, ctx, request, null);
    // A user asked for the password again (prompt=login, max_age) finds the username filled in.
    showLogin(ctx, deps, { flow, clientId: client.id, redirectUri, username: login?.session.username });
  };
}
