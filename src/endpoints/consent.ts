/**
 * POST /consent: the user's answer to a third-party client's request. Allowing stores the consent (per user and
 * client, for the scopes shown) and issues the code; denying sends access_denied back to the client.
 */
import type { Context } from 'koa';
import { audit } from '../audit/audit.js';
import { clientForFlow, finishFlow, redirectWithError } from '../browser/answers.js';
import { assertFormFromIssuer } from '../browser/csrf.js';
import { loadFlow } from '../browser/flow.js';
import { currentLogin } from '../browser/login-session.js';
import type { Deps } from '../deps.js';
import { accessDenied, formRefused, invalidRequest } from '../errors.js';
import { readForm } from '../http/form.js';

export function consentEndpoint(deps: Deps) {
  return async function consent(ctx: Context): Promise<void> {
    assertFormFromIssuer(ctx, deps.issuer);
    const params = await readForm(ctx);
    const flowId = params.get('flow');
    const flow = await loadFlow(deps, ctx, flowId);
    const decision = params.get('decision');
    if (decision !== 'allow' && decision !== 'deny') throw invalidRequest('Choose Allow or Deny.');
    // The answer must come from the login session that was shown the form.
    const login = await currentLogin(deps, ctx);
    if (!login || flow.loginSessionId === null || login.session.id !== flow.loginSessionId) {
      throw formRefused('You are no longer logged in as the user this form was shown to. Go back to the app and start again.');
    }
    const client = await clientForFlow(deps, flow);
    const { session } = login;
    const now = deps.clock.now();
    if (decision === 'deny') {
      if (!(await deps.store.authorizationRequests.complete(flow.idHash, now))) throw formRefused('This form was already sent.');
      return redirectWithError(ctx, deps, flow.redirectUri, accessDenied('The user denied the request'), flow.state ?? undefined);
    }
    const earlier = await deps.store.consents.find(session.userId, client.id);
    const scope = [...new Set([...(earlier?.scope ?? []), ...flow.scope])];
    await deps.store.transaction(async (tx) => {
      await tx.consents.save({ userId: session.userId, clientId: client.id, scope, grantedAt: now });
      await audit(tx, now, { type: 'consent_granted', actor: `ip:${ctx.ip}`, subject: session.username, clientId: client.id, detail: scope.join(' ').slice(0, 400) });
    });
    await finishFlow(deps, ctx, flowId!, flow, client, { id: session.id, userId: session.userId, username: session.username });
  };
}
