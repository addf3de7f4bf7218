/** RFC 6749 §4.4: a client acting for itself. The token's subject is the client (RFC 9068 §2.2). */
import { unauthorizedClient } from '../errors.js';
import { accessTokenExpiry } from '../sessions/lifetime.js';
import { mintAccessToken, resolveAudience, resolveScope, type GrantHandler } from './shared.js';

export const clientCredentialsGrant: GrantHandler = async ({ client, params, deps }) => {
  // RFC 6749 §4.4: "The client credentials grant type MUST only be used by confidential clients."
  if (client.publicClient) throw unauthorizedClient('A public client may not use client_credentials');
  const scope = resolveScope(params, client.scope);
  const aud = resolveAudience(params, client, deps.issuer);
  const exp = accessTokenExpiry(deps.clock.now(), deps.config.accessTokenTtlSeconds);
  const { token, expiresIn } = await mintAccessToken(deps, { sub: client.id, clientId: client.id, scope, aud, exp });
  // RFC 6749 §4.4.3: "A refresh token SHOULD NOT be included."
  return { access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: scope.join(' ') };
};
