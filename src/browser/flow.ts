/**
 * A pending authorization request between GET /authorize and the answer to its login or consent form, and the
 * authorization code that ends it.
 */
import type { Context } from 'koa';
import type { Deps } from '../deps.js';
import { formRefused } from '../errors.js';
import { hexDigestsEqual, randomToken, sha256Hex } from '../lib/crypto.js';
import type { AuthorizationRequestRecord } from '../storage/authorization-requests.js';
import type { AuthorizationRequest } from './authorization-request.js';
import { cookieSpec, readCookie, writeCookie } from './cookies.js';

/** How long a login or consent form may stay open. */
export const FORM_TTL_SECONDS = 900;

const FLOW_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * Stores the request and returns the id its form carries. The request is bound to this browser's cookie, which
 * is set here if the browser has none yet.
 */
export async function startFlow(deps: Deps, ctx: Context, request: AuthorizationRequest, loginSessionId: string | null): Promise<string> {
  const spec = cookieSpec(deps.issuer);
  let browser = readCookie(ctx, spec.browser);
  if (browser === undefined) {
    browser = randomToken(32);
    writeCookie(ctx, spec, spec.browser, browser);
  }
  const id = randomToken(32);
  const now = deps.clock.now();
  await deps.store.authorizationRequests.insert({
    idHash: sha256Hex(id),
    browserHash: sha256Hex(browser),
    clientId: request.client.id,
    redirectUri: request.redirectUri,
    state: request.state ?? null,
    codeChallenge: request.codeChallenge,
    scope: request.scope,
    audience: request.audience,
    loginSessionId,
    createdAt: now,
    expiresAt: now + FORM_TTL_SECONDS,
    completedAt: null,
  });
  return id;
}

/**
 * The pending request a posted form names, if this browser opened it and it is still open; otherwise the form
 * is refused (see browser/csrf.ts) and nothing is checked.
 */
export async function loadFlow(deps: Deps, ctx: Context, id: string | undefined): Promise<AuthorizationRequestRecord> {
  if (id === undefined || !FLOW_ID.test(id)) throw formRefused('This form is not valid. Go back to the app and start again.');
  const flow = await deps.store.authorizationRequests.find(sha256Hex(id));
  const browser = readCookie(ctx, cookieSpec(deps.issuer).browser);
  if (!flow || browser === undefined || !hexDigestsEqual(sha256Hex(browser), flow.browserHash)) {
    throw formRefused('This form was not opened in this browser. Go back to the app and start again.');
  }
  if (flow.completedAt !== null) throw formRefused('This form was already sent. Go back to the app and start again.');
  if (deps.clock.now() >= flow.expiresAt) throw formRefused('This form has expired. Go back to the app and start again.');
  return flow;
}

/** What a code is issued for. */
export interface CodeGrant {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  scope: readonly string[];
  audience: string;
}

/**
 * RFC 6749 §4.1.2: a new authorization code, "short lived and single-use"; only its hash is stored. Issuing it
 * completes the pending request it answers, once: a form posted twice gets undefined the second time.
 */
export async function issueCode(deps: Deps, grant: CodeGrant, login: { id: string; userId: string }, flowIdHash?: string): Promise<string | undefined> {
  const code = randomToken(32);
  const now = deps.clock.now();
  const issued = await deps.store.transaction(async (tx) => {
    if (flowIdHash !== undefined && !(await tx.authorizationRequests.complete(flowIdHash, now))) return false;
    await tx.authorizationCodes.insert({
      codeHash: sha256Hex(code),
      clientId: grant.clientId,
      redirectUri: grant.redirectUri,
      codeChallenge: grant.codeChallenge,
      userId: login.userId,
      loginSessionId: login.id,
      scope: [...grant.scope],
      audience: grant.audience,
      createdAt: now,
      expiresAt: now + deps.config.authorizationCodeTtlSeconds,
      usedAt: null,
      sessionId: null,
    });
    return true;
  });
  return issued ? code : undefined;
}
