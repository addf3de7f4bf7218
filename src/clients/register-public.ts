/**
 * Registering a public client: an app in a browser (or on a device) that cannot keep a secret (RFC 6749 §2.1).
 * It has none ("token_endpoint_auth_method": "none", RFC 7591 §2) and names itself with client_id in the body.
 * Its refresh tokens rotate on every use, as every refresh token here does (RFC 9700 §2.2.2 requires rotation or
 * sender-constraining for public clients).
 */
import { InvalidInput, OperationRefused } from '../errors.js';
import type { ClientRecord } from '../storage/clients.js';
import type { Store } from '../storage/store.js';
import { parseOrigin } from './origin.js';
import { redirectOrigins } from './redirect-uri.js';
import { checkClientInput } from './register.js';

export interface NewPublicClient {
  id: string;
  /** Default: authorization_code and refresh_token. The password grant only when asked for. */
  grantTypes?: readonly string[];
  scope?: string;
  audiences?: readonly string[];
  /** Web origins allowed to call /token and /revoke (CORS); the origins of the redirect URIs are added. */
  origins?: readonly string[];
  redirectUris?: readonly string[];
  postLogoutRedirectUris?: readonly string[];
  thirdParty?: boolean;
}

/**
 * RFC 6749 §4.4: client_credentials "MUST only be used by confidential clients". Without a secret a client can
 * only log a user in and renew: no client_credentials, and no introspection.
 */
export const PUBLIC_CLIENT_GRANTS: readonly string[] = ['authorization_code', 'password', 'refresh_token'];

/**
 * What a public client gets without --grants: the authorization code flow with PKCE and renewal. RFC 9700 §2.4:
 * the password grant "MUST NOT be used", so it is there only when asked for (`--grants password,refresh_token`).
 */
export const PUBLIC_CLIENT_DEFAULT_GRANTS: readonly string[] = ['authorization_code', 'refresh_token'];

export async function registerPublicClient(store: Store, input: NewPublicClient, now: number): Promise<ClientRecord> {
  const grantRequest = input.grantTypes ?? PUBLIC_CLIENT_DEFAULT_GRANTS;
  for (const grant of grantRequest) {
    if (!PUBLIC_CLIENT_GRANTS.includes(grant)) {
      throw new InvalidInput(`a public client may use only the ${PUBLIC_CLIENT_GRANTS.join(' and ')} grants, not ${grant}`);
    }
  }
  const listed = (input.origins ?? []).map(parseOrigin);
  const { grantTypes, scope, audiences, redirectUris, postLogoutRedirectUris } = await checkClientInput(store, { ...input, grantTypes: grantRequest });
  // The page a code is sent to redeems it at /token from its own origin (and /token refuses origins not
  // registered for the client it names): so a redirect URI registers its origin too.
  const origins = [...new Set([...listed, ...redirectOrigins(redirectUris)])];
  const record: ClientRecord = {
    id: input.id,
    secretHash: null,
    previousSecretHash: null,
    previousSecretExpiresAt: null,
    grantTypes,
    scope,
    audiences,
    introspect: false,
    publicClient: true,
    origins,
    redirectUris,
    postLogoutRedirectUris,
    thirdParty: input.thirdParty ?? false,
    receiver: false, // a receiver authenticates with client_credentials, which a public client cannot use
    createdAt: now,
    disabledAt: null,
  };
  if (!(await store.clients.insert(record))) throw new OperationRefused(`client ${input.id} already exists`);
  return record;
}
