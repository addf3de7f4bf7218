/**
 * Logging out at the issuer: GET /logout asks, POST /logout does it. Ending the login session ends every session
 * opened through it, so every app that got tokens through this browser's login is logged out at once; each
 * resource server refuses their access tokens at the next request, and their renewals get invalid_grant.
 *
 * The shape follows OpenID Connect RP-Initiated Logout: an app may send the user here with `client_id`,
 * `post_logout_redirect_uri` (one of the URIs it registered with --post-logout-redirect-uri, compared exactly)
 * and `state`, and gets the user back there afterwards. An unregistered return address is shown as an error,
 * never followed. The form is protected like the login form (browser/csrf.ts): a page elsewhere cannot log its
 * visitors out.
 */
import type { Context } from 'koa';
import { assertFormFromIssuer } from '../browser/csrf.js';
import { cookieSpec, writeCookie } from '../browser/cookies.js';
import { currentLogin } from '../browser/login-session.js';
import { redirect, sendPage } from '../browser/respond.js';
import type { Deps } from '../deps.js';
import { formRefused, invalidRequest } from '../errors.js';
import { readForm } from '../http/form.js';
import { hexDigestsEqual, sha256Hex } from '../lib/crypto.js';
import { FormDecodeError, parseForm } from '../lib/form-urlencoded.js';
import { issuerPath } from '../lib/issuer-path.js';
import { loggedOutPage, logoutPage } from '../pages/logout.js';
import { endLoginSession } from '../sessions/control.js';

interface ReturnTo {
  clientId: string;
  postLogoutRedirectUri: string;
  state: string | undefined;
}

/** The form's token: derived from the login cookie, which only this browser holds (HttpOnly). */
const logoutToken = (cookie: string) => sha256Hex(`gatehouse logout\0${cookie}`);

/** Where to send the user afterwards, if the app asked and registered that address. */
async function readReturnTo(deps: Deps, params: ReadonlyMap<string, string>): Promise<ReturnTo | undefined> {
  const clientId = params.get('client_id');
  const uri = params.get('post_logout_redirect_uri');
  if (uri === undefined) return undefined;
  const client = clientId !== undefined && clientId.length <= 128 ? await deps.store.clients.find(clientId) : undefined;
  if (!client || client.disabledAt !== null || !client.postLogoutRedirectUris.includes(uri)) {
    throw invalidRequest('The address to send you back to after logging out is not registered for this app');
  }
  return { clientId: client.id, postLogoutRedirectUri: uri, state: params.get('state') };
}

function sendBack(ctx: Context, to: ReturnTo): void {
  const query = to.state === undefined ? '' : `${to.postLogoutRedirectUri.includes('?') ? '&' : '?'}${new URLSearchParams({ state: to.state })}`;
  redirect(ctx, `${to.postLogoutRedirectUri}${query}`);
}

function queryParams(ctx: Context): Map<string, string> {
  try {
    return parseForm(Buffer.from(ctx.querystring, 'latin1'));
  } catch (error) {
    if (error instanceof FormDecodeError) throw invalidRequest('The request is malformed');
    throw error;
  }
}

export function logoutPageEndpoint(deps: Deps) {
  return async function showLogout(ctx: Context): Promise<void> {
    const returnTo = await readReturnTo(deps, queryParams(ctx));
    const login = await currentLogin(deps, ctx);
    if (!login) {
      if (returnTo) return sendBack(ctx, returnTo);
      return sendPage(ctx, 200, loggedOutPage(false));
    }
    const page = logoutPage({
      action: `${issuerPath(deps.issuer)}/logout`,
      username: login.session.username,
      csrf: logoutToken(login.cookie),
      ...(returnTo ? { returnTo } : {}),
    });
    sendPage(ctx, 200, page, returnTo ? [new URL(returnTo.postLogoutRedirectUri).origin] : []);
  };
}

export function logoutEndpoint(deps: Deps) {
  return async function logout(ctx: Context): Promise<void> {
    assertFormFromIssuer(ctx, deps.issuer);
    const params = await readForm(ctx);
    const returnTo = await readReturnTo(deps, params);
    const login = await currentLogin(deps, ctx);
    if (login) {
      const csrf = params.get('csrf') ?? '';
      if (!hexDigestsEqual(csrf, logoutToken(login.cookie))) throw formRefused('This logout form was not opened in this browser.');
      const ended = await endLoginSession(deps.store, login.session.id, deps.clock.now(), `ip:${ctx.ip}`, 'logout');
      deps.log.info('logged out', { login_session: login.session.id, sessions_ended: ended ?? 0 });
      deps.metrics.sessionsEndedBy('logout', ended ?? 0);
      const spec = cookieSpec(deps.issuer);
      writeCookie(ctx, spec, spec.login, '', 0);
    }
    if (returnTo) return sendBack(ctx, returnTo);
    sendPage(ctx, 200, loggedOutPage(login !== undefined));
  };
}
