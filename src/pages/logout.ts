import { html, layout } from './html.js';

export interface LogoutPage {
  action: string;
  username: string;
  /** Derived from the login session cookie: a copy of this form from another browser is refused. */
  csrf: string;
  /** Carried through the confirmation when the logout was started by a client (RP-initiated style). */
  returnTo?: { clientId: string; postLogoutRedirectUri: string; state: string | undefined };
}

/** Logging out changes state, so a GET only asks; the form's POST does it. */
export function logoutPage(page: LogoutPage): string {
  const back = page.returnTo;
  return layout(
    'Log out',
    html`<h1>Log out</h1>
<p class="lead">You are logged in as <strong>${page.username}</strong>.</p>
<p>Logging out ends your session here and in every app you opened with this login.</p>
<form method="post" action="${page.action}">
<input type="hidden" name="csrf" value="${page.csrf}">
${
  back === undefined
    ? undefined
    : html`<input type="hidden" name="client_id" value="${back.clientId}">
<input type="hidden" name="post_logout_redirect_uri" value="${back.postLogoutRedirectUri}">
${back.state === undefined ? undefined : html`<input type="hidden" name="state" value="${back.state}">`}`
}
<button type="submit">Log out</button>
</form>`,
  );
}

export function loggedOutPage(wasLoggedIn: boolean): string {
  return layout(
    'Logged out',
    html`<h1>${wasLoggedIn ? 'You are logged out' : 'You are not logged in'}</h1>
<p>${wasLoggedIn ? 'Your session has ended in every app you opened with it.' : 'There is no session to end in this browser.'} You can close this page.</p>`,
  );
}
