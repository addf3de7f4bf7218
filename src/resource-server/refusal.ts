/**
 * The answers of a refused request. RFC 6750 §3: a 401 or 403 carries a Bearer challenge; an error code only
 * when credentials were presented. RFC 9110 §15.6.4: a 503 when the issuer cannot answer, with Retry-After and
 * no challenge, because nothing is wrong with the token.
 */
import type { Context } from 'koa';

export type Refusal =
  /** No Authorization header, or another scheme: a bare challenge (RFC 6750 §3 "SHOULD NOT include an error code"). */
  | { kind: 'no_token' }
  | { kind: 'invalid_request'; description: string }
  | { kind: 'invalid_token'; expired: boolean }
  | { kind: 'insufficient_scope'; scopes: readonly string[] }
  | { kind: 'unavailable'; retryAfterSeconds: number }
  | { kind: 'server_error' };

export function refuse(ctx: Context, realm: string, refusal: Refusal): void {
  ctx.set('Cache-Control', 'no-store');
  switch (refusal.kind) {
    case 'no_token':
      return answer(ctx, 401, `Bearer realm="${realm}"`, { error: 'unauthorized', error_description: 'A Bearer access token is required' });
    case 'invalid_request':
      // RFC 6750 §3.1: "The resource server SHOULD respond with the HTTP 400 (Bad Request) status code."
      return answer(ctx, 400, `Bearer realm="${realm}", error="invalid_request"`, { error: 'invalid_request', error_description: refusal.description });
    case 'invalid_token': {
      // RFC 6750 §3.1 invalid_token: "expired, revoked, malformed, or invalid for other reasons" — one code for
      // all; RFC 6750 §3 gives "The access token expired" as its example description.
      const description = refusal.expired ? 'The access token expired' : undefined;
      const challenge = `Bearer realm="${realm}", error="invalid_token"${description ? `, error_description="${description}"` : ''}`;
      return answer(ctx, 401, challenge, { error: 'invalid_token', ...(description ? { error_description: description } : {}) });
    }
    case 'insufficient_scope': {
      // RFC 6750 §3.1: 403, and the scope "necessary to access the protected resource" may be named.
      const scope = refusal.scopes.join(' ');
      return answer(ctx, 403, `Bearer realm="${realm}", error="insufficient_scope", scope="${scope}"`, {
        error: 'insufficient_scope',
        error_description: `The access token lacks the scope ${scope}`,
      });
    }
    case 'unavailable':
      ctx.set('Retry-After', String(refusal.retryAfterSeconds));
      return answer(ctx, 503, undefined, { error: 'temporarily_unavailable', error_description: 'The token issuer cannot be reached; try again shortly' });
    case 'server_error':
      return answer(ctx, 500, undefined, { error: 'server_error', error_description: 'The access token cannot be verified' });
  }
}

function answer(ctx: Context, status: number, challenge: string | undefined, body: Record<string, string>): void {
  ctx.status = status;
  if (challenge !== undefined) ctx.set('WWW-Authenticate', challenge);
  ctx.body = body;
}
