/**
 * The answers the authorization, login and consent endpoints share: the two forms, the redirects back to the
 * client, and what follows once the user is known.
 */
import type { Context } from 'koa';
import type { Deps } from '../deps.js';
import { formRefused, invalidRequest, type OAuthError } from '../errors.js';
import { sha256Hex } from '../lib/crypto.js';
import { issuerPath } from '../lib/issuer-path.js';
import { consentPage } from '../pages/consent.js';
import { loginPage } from '../pages/login.js';
import type { AuthorizationRequestRecord } from '../storage/authorization-requests.js';
import type { ClientRecord } from '../storage/clients.js';
import { issueCode } from './flow.js';
import { needsConsent } from './login-session.js';
import { authorizationResponseUrl, redirect, sendPage } from './respond.js';

/**
 * CSP form-action of a form whose answer redirects to `redirectUri` (Chromium applies form-action to the redirect
 * after a form post too): the origin of that registered URI, never anything the request made up.
 */
const formTargets = (redirectUri: string) => [new URL(redirectUri).origin];

export function showLogin(
  ctx: Context,
  deps: Deps,
  form: { flow: string; clientId: string; redirectUri: string; username?: string | undefined; error?: string },
  status = 200,
): void {
  const page = loginPage({
    action: `${issuerPath(deps.issuer)}/login`,
    flow: form.flow,
    clientId: form.clientId,
    ...(form.username === undefined ? {} : { username: form.username }),
    ...(form.error === undefined ? {} : { error: form.error }),
  });
  sendPage(ctx, status, page, formTargets(form.redirectUri));
}

export function showConsent(ctx: Context, deps: Deps, form: { flow: string; clientId: string; redirectUri: string; username: string; scope: readonly string[] }): void {
  const page = consentPage({ action: `${issuerPath(deps.issuer)}/consent`, flow: form.flow, clientId: form.clientId, username: form.username, scope: form.scope });
  sendPage(ctx, 200, page, formTargets(form.redirectUri));
}

/** RFC 6749 §4.1.2: the code, the state and (RFC 9207) iss, on the registered redirect URI. */
export function redirectWithCode(ctx: Context, deps: Deps, redirectUri: string, code: string, state: string | undefined): void {
  redirect(ctx, authorizationResponseUrl(redirectUri, deps.issuer, { code }, state));
}

/** RFC 6749 §4.1.2.1: an error for the client, once its redirect URI is known to be registered. */
export function redirectWithError(ctx: Context, deps: Deps, redirectUri: string, error: OAuthError, state: string | undefined): void {
  const params: Record<string, string> = { error: error.code };
  if (error.description !== undefined) params.error_description = error.description;
  redirect(ctx, authorizationResponseUrl(redirectUri, deps.issuer, params, state));
}

/** The client a pending request belongs to, if it may still receive a code at that redirect URI. */
export async function clientForFlow(deps: Deps, flow: { clientId: string; redirectUri: string }): Promise<ClientRecord> {
  const client = await deps.store.clients.find(flow.clientId);
  if (!client || client.disabledAt !== null || !client.grantTypes.includes('authorization_code') || !client.redirectUris.includes(flow.redirectUri)) {
    throw invalidRequest('The app that sent you here may no longer log users in');
  }
  return client;
}

/**
 * Once the user is known for a pending request: the consent form if a third-party client still needs it,
 * otherwise the code, which completes the request (a form answered twice is refused the second time).
 */
export async function finishFlow(
  deps: Deps,
  ctx: Context,
  flowId: string,
  flow: AuthorizationRequestRecord,
  client: ClientRecord,
  login: { id: string; userId: string; username: string },
): Promise<void> {
  const consent = await deps.store.consents.find(login.userId, client.id);
  if (needsConsent(client, consent?.scope, flow.scope)) {
    showConsent(ctx, deps, { flow: flowId, clientId: client.id, redirectUri: flow.redirectUri, username: login.username, scope: flow.scope });
    return;
  }
  const code = await issueCode(deps, flow, login, sha256Hex(flowId));
  if (code === undefined) throw formRefused('This form was already sent. Go back to the app and start again.');
  redirectWithCode(ctx, deps, flow.redirectUri, code, flow.state ?? undefined);
}
