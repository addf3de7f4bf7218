import { html, layout } from './html.js';

const TITLES: Record<number, string> = {
  400: 'This request cannot be completed',
  403: 'This form cannot be accepted',
  404: 'Page not found',
  405: 'Method not allowed',
  429: 'Too many attempts',
  503: 'Temporarily unavailable',
};

/**
 * An error shown to the user instead of being sent to the client: a request that names no valid client or redirect
 * URI must never be redirected (RFC 6749 §4.1.2.1). The message is Gatehouse's own text, never the request's.
 */
export function errorPage(status: number, message: string): string {
  const title = TITLES[status] ?? 'Something went wrong';
  return layout(title, html`<h1>${title}</h1>
<p>${message}</p>
<p class="note">If this keeps happening, go back to the app and start again.</p>`);
}
