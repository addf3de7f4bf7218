import { html, layout } from './html.js';

export interface LoginPage {
  /** The form action: the issuer's /login. */
  action: string;
  /** The pending authorization request the form belongs to. */
  flow: string;
  clientId: string;
  /** Filled in after a failed attempt, or when the user must enter the password again. */
  username?: string;
  /** A message for the user, shown above the form and announced by screen readers. */
  error?: string;
}

/** The login form: labelled fields with autocomplete hints, so password managers and screen readers work. */
export function loginPage(page: LoginPage): string {
  const described = page.error === undefined ? undefined : 'login-error';
  return layout(
    'Log in',
    html`<h1>Log in</h1>
<p class="lead">to continue to <strong>${page.clientId}</strong></p>
${page.error === undefined ? undefined : html`<p class="error" id="login-error" role="alert">${page.error}</p>`}
<form method="post" action="${page.action}">
<input type="hidden" name="flow" value="${page.flow}">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required${described === undefined ? undefined : html` aria-describedby="${described}"`} value="${page.username ?? ''}"${page.username === undefined ? html` autofocus` : undefined}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${page.username === undefined ? undefined : html` autofocus`}>
<button type="submit">Log in</button>
</form>`,
  );
}
