import { html, layout } from './html.js';

export interface ConsentPage {
  action: string;
  flow: string;
  clientId: string;
  username: string;
  scope: readonly string[];
}

/** Asks the user whether a third-party client may act for them, listing every scope it asks for. */
export function consentPage(page: ConsentPage): string {
  return layout(
    'Allow access',
    html`<h1>Allow <strong>${page.clientId}</strong> to use your account?</h1>
<p class="lead">You are logged in as <strong>${page.username}</strong>.</p>
${
  page.scope.length === 0
    ? html`<p><strong>${page.clientId}</strong> asks for access to your account, without any particular permission.</p>`
    : html`<p id="scopes-heading"><strong>${page.clientId}</strong> asks for these permissions:</p>
<ul class="scopes" aria-labelledby="scopes-heading">${page.scope.map((scope) => html`<li><code>${scope}</code></li>`)}</ul>`
}
<form method="post" action="${page.action}">
<input type="hidden" name="flow" value="${page.flow}">
<div class="actions">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</div>
</form>
<p class="note">Your answer is remembered for this app. An administrator can withdraw it at any time.</p>`,
  );
}
