/**
 * How the browser-facing routes answer: HTML pages with the security headers every page needs, and 303 redirects
 * to a client's registered redirect URI carrying the authorization response.
 */
import type { Context, Next } from 'koa';
import { contentSecurityPolicy } from '../pages/html.js';

export interface PageState {
  /** Set on browser-facing routes: the error handler answers with an HTML page instead of JSON. */
  page?: boolean;
}

/**
 * Route middleware of every browser-facing route. Set before anything else, so that errors carry them too:
 * a strict CSP (see pages/html.ts), no sniffing, no framing, no Referer to anywhere (the URLs carry the
 * authorization request, and after a redirect the code), and nothing kept in a cache.
 */
export async function asPage(ctx: Context, next: Next): Promise<void> {
  (ctx.state as PageState).page = true;
  ctx.set({
    'Content-Security-Policy': contentSecurityPolicy(),
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
    Pragma: 'no-cache',
  });
  await next();
}

/** An HTML page; `formTargets` are the origins its form's answer may redirect to (CSP form-action). */
export function sendPage(ctx: Context, status: number, body: string, formTargets: readonly string[] = []): void {
  ctx.status = status;
  ctx.set('Content-Security-Policy', contentSecurityPolicy(formTargets));
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = body;
}

/**
 * RFC 9700 §4.12: after a form post, only 303 See Other makes every browser follow with a GET, so the user's
 * password is never sent on to the client.
 */
export function redirect(ctx: Context, location: string): void {
  ctx.status = 303;
  ctx.set('Location', location);
  ctx.body = '';
}

/**
 * The authorization response (RFC 6749 §4.1.2 and §4.1.2.1) on the registered redirect URI: its own query is kept
 * as registered (§3.1.2: "MUST retain the query component") and the parameters are appended; `state` exactly
 * as received (§4.1.2: "REQUIRED if the state parameter was present in the client authorization request"); and
 * `iss` (RFC 9207 §2), so that a client talking to several issuers knows which one answered (mix-up attacks).
 */
export function authorizationResponseUrl(redirectUri: string, issuer: string, params: Record<string, string>, state: string | undefined): string {
  const query = new URLSearchParams(params);
  if (state !== undefined) query.append('state', state);
  query.append('iss', issuer);
  return `${redirectUri}${redirectUri.includes('?') ? '&' : '?'}${query.toString()}`;
}
