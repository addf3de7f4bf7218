/** What every grant shares: scope and audience resolution, and minting the access token. */
import type { Deps } from '../deps.js';
import { invalidScope, invalidTarget } from '../errors.js';
import type { FormParams } from '../http/form.js';
import { formatScope, isSubset, parseScope } from '../lib/scope.js';
import type { ClientRecord } from '../storage/clients.js';
import { signAccessToken } from '../tokens/access-token.js';

/** The scope that only client_credentials can carry: it opens the admin API. */
export const ADMIN_SCOPE = 'gatehouse:admin';

export interface GrantRequest {
  client: ClientRecord;
  params: FormParams;
  deps: Deps;
  /** The client's address (from X-Forwarded-For only with GATEHOUSE_TRUST_PROXY), for throttling and audit. */
  ip: string;
}

/** RFC 6749 §5.1 */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

export type GrantHandler = (request: GrantRequest) => Promise<TokenResponse>;

/**
 * RFC 6749 §3.3: an omitted scope means the pre-defined default (everything `allowed`); a scope beyond
 * `allowed`, or a malformed one, is refused with invalid_scope rather than silently narrowed.
 */
export function resolveScope(params: FormParams, allowed: readonly string[]): string[] {
  const raw = params.get('scope');
  if (raw === undefined) return [...allowed];
  const requested = parseScope(raw);
  if (requested === null) throw invalidScope('The scope is malformed');
  if (!isSubset(requested, allowed)) throw invalidScope('The requested scope exceeds what this client may be granted');
  return requested;
}

/**
 * RFC 8707 §2: `resource` names the API the token is for and becomes `aud`. It must be one of the client's
 * registered audiences; omitted, the client's first audience is used, or the issuer itself when it has none.
 */
export function resolveAudience(params: FormParams, client: ClientRecord, issuer: string): string {
  const resource = params.get('resource');
  if (resource === undefined) return client.audiences[0] ?? issuer;
  if (!client.audiences.includes(resource)) throw invalidTarget('The resource is not one this client may request tokens for');
  return resource;
}

export async function mintAccessToken(
  deps: Deps,
  fields: { sub: string; clientId: string; scope: readonly string[]; aud: string; exp: number; sid?: string },
): Promise<{ token: string; expiresIn: number }> {
  const now = deps.clock.now();
  const { token } = await signAccessToken(deps.keys.signingKey(), {
    iss: deps.issuer,
    sub: fields.sub,
    aud: fields.aud,
    exp: fields.exp,
    iat: now,
    client_id: fields.clientId,
    scope: formatScope(fields.scope),
    ...(fields.sid === undefined ? {} : { sid: fields.sid }),
  });
  return { token, expiresIn: fields.exp - now };
}
