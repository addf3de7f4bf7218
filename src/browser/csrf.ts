/**
 * Cross-site request forgery on the login, consent and logout forms. Two independent checks:
 *
 * 1. The request must come from the issuer's own page: a browser says where a POST comes from in Sec-Fetch-Site
 *    (Fetch Metadata) and in Origin. A form posted from any other site is refused before anything is looked at.
 *    The pages send `Referrer-Policy: no-referrer`, with which browsers send `Origin: null` on the pages' own
 *    form posts (Fetch standard, "serializing a request origin"): `null` is accepted only together with
 *    `Sec-Fetch-Site: same-origin`.
 * 2. The form carries a token bound to this browser: the pending request's id, stored with the hash of the
 *    browser cookie of the browser that opened it (login, consent), or a value derived from the login cookie
 *    (logout). A copy of the form taken from another browser, say the attacker's own, is refused even by a
 *    browser that sends neither header.
 *
 * So a login form posted from another site cannot log a fresh browser in as the attacker (login CSRF), and a page
 * elsewhere cannot log its visitor out or consent for her.
 */
import type { Context } from 'koa';
import { formRefused } from '../errors.js';

export function assertFormFromIssuer(ctx: Context, issuer: string): void {
  const site = ctx.get('sec-fetch-site');
  const origin = ctx.get('origin');
  if (site !== '' && site !== 'same-origin') throw formRefused('This form was sent from another site.');
  if (origin !== '' && origin !== new URL(issuer).origin && !(origin === 'null' && site === 'same-origin')) {
    throw formRefused('This form was sent from another site.');
  }
}
