/** Registering and disabling clients: what `gatehouse clients …` does, with its validation. */
import { audit } from '../audit/audit.js';
import { InvalidInput, OperationRefused } from '../errors.js';
import { GRANT_TYPES } from '../grants/index.js';
import { randomToken, sha256Hex } from '../lib/crypto.js';
import { parseScope } from '../lib/scope.js';
import type { ClientRecord } from '../storage/clients.js';
import type { Store } from '../storage/store.js';
import { SSF_SCOPES } from '../ssf/scopes.js';
import { parseRedirectUri } from './redirect-uri.js';

export interface NewClient {
  id: string;
  /** At least 32 characters; generated (256 bits) when absent. */
  secret?: string;
  grantTypes?: readonly string[];
  scope?: string;
  audiences?: readonly string[];
  introspect?: boolean;
  /** Where authorization codes may be sent: needed by, and only for, the authorization_code grant. */
  redirectUris?: readonly string[];
  /** Where a logout started by this client may send the user back to. */
  postLogoutRedirectUris?: readonly string[];
  /** A third party: users are asked to consent before it gets a code. */
  thirdParty?: boolean;
  /**
   * A Shared Signals receiver: gets the client_credentials grant and the scopes ssf.manage and ssf.read (added to
   * what `scope` lists), which no other client may hold.
   */
  receiver?: boolean;
}

export interface RegisteredClient {
  record: ClientRecord;
  /** Shown once: only its hash is stored. */
  secret: string;
}

const CLIENT_ID = /^[\x21-\x7E]{1,128}$/;

export function assertAbsoluteUri(value: string, what: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidInput(`${what} must be an absolute URI: ${value}`);
  }
  // RFC 8707 §2: "MUST NOT include a fragment component".
  if (url.hash !== '' || value.includes('#') || /\s/.test(value)) throw new InvalidInput(`${what} must not have a fragment or spaces: ${value}`);
}

/** What every client needs, public or confidential: a valid id, known grants, a well-formed scope and audiences. */
export async function checkClientInput(
  store: Store,
  input: Pick<NewClient, 'id' | 'grantTypes' | 'scope' | 'audiences' | 'redirectUris' | 'postLogoutRedirectUris' | 'thirdParty'>,
): Promise<{ grantTypes: string[]; scope: string[]; audiences: string[]; redirectUris: string[]; postLogoutRedirectUris: string[] }> {
  if (!CLIENT_ID.test(input.id)) throw new InvalidInput('client id must be 1-128 printable ASCII characters without spaces');
  const grantTypes = [...new Set(input.grantTypes ?? [])];
  for (const grant of grantTypes) {
    if (!GRANT_TYPES.includes(grant)) throw new InvalidInput(`unknown grant type ${grant}; use ${GRANT_TYPES.join(', ')}`);
  }
  const scope = parseScope(input.scope ?? '');
  if (scope === null) throw new InvalidInput('scopes must be space-separated tokens of printable ASCII without " or \\');
  const audiences = [...new Set(input.audiences ?? [])];
  audiences.forEach((audience) => assertAbsoluteUri(audience, 'audience'));
  const redirectUris = [...new Set(input.redirectUris ?? [])].map((uri) => parseRedirectUri(uri));
  const postLogoutRedirectUris = [...new Set(input.postLogoutRedirectUris ?? [])].map((uri) => parseRedirectUri(uri, 'post-logout redirect URI'));
  const codeFlow = grantTypes.includes('authorization_code');
  // A code can only be sent to a registered redirect URI (RFC 6749 §3.1.2.2), so the grant needs one; and a
  // redirect URI without the grant would be a way in that nothing uses.
  if (codeFlow && redirectUris.length === 0) throw new InvalidInput('the authorization_code grant needs at least one --redirect-uri');
  if (!codeFlow && redirectUris.length + postLogoutRedirectUris.length > 0) {
    throw new InvalidInput('--redirect-uri and --post-logout-redirect-uri are for clients with the authorization_code grant');
  }
  // RFC 9700 §2.4: the password grant "MUST NOT be used"; a third party would see the user's password.
  if (input.thirdParty && grantTypes.includes('password')) throw new InvalidInput('a --third-party client cannot use the password grant');
  // RFC 9068 §5: a client's id must never equal a user's `sub`, or its tokens could pass for that user's.
  if (await store.users.findById(input.id)) throw new OperationRefused(`client id ${input.id} equals a user's subject identifier`);
  return { grantTypes, scope, audiences, redirectUris, postLogoutRedirectUris };
}

export async function registerClient(store: Store, input: NewClient, now: number): Promise<RegisteredClient> {
  if (input.secret !== undefined && input.secret.length < 32) throw new InvalidInput('client secret must have at least 32 characters');
  const receiver = input.receiver ?? false;
  const { grantTypes, scope, audiences, redirectUris, postLogoutRedirectUris } = await checkClientInput(store, {
    ...input,
    ...(receiver ? { grantTypes: [...new Set([...(input.grantTypes ?? []), 'client_credentials'])], scope: [input.scope ?? '', ...SSF_SCOPES].join(' ').trim() } : {}),
  });
  if (!receiver && scope.some((s) => (SSF_SCOPES as readonly string[]).includes(s))) throw new InvalidInput(`${SSF_SCOPES.join(' and ')} are for --receiver clients`);
  const secret = input.secret ?? randomToken(32);
  const record: ClientRecord = {
    id: input.id,
    secretHash: sha256Hex(secret),
    previousSecretHash: null,
    previousSecretExpiresAt: null,
    grantTypes,
    scope,
    audiences,
    introspect: input.introspect ?? false,
    publicClient: false,
    origins: [],
    redirectUris,
    postLogoutRedirectUris,
    thirdParty: input.thirdParty ?? false,
    receiver: input.receiver ?? false,
    createdAt: now,
    disabledAt: null,
  };
  if (!(await store.clients.insert(record))) throw new OperationRefused(`client ${input.id} already exists`);
  return { record, secret };
}

/** Disables a client: it can no longer authenticate, its tokens turn inactive and its sessions end. */
export async function disableClient(store: Store, id: string, now: number): Promise<void> {
  await store.transaction(async (tx) => {
    const before = await tx.clients.find(id);
    if (!before || !(await tx.clients.disable(id, now))) throw new OperationRefused(`no client ${id}`);
    const ended = await tx.sessions.endAll({ clientId: id }, now, 'client_disabled');
    await audit(tx, now, { type: 'client_disabled', actor: 'cli', subject: id, clientId: id, detail: `${ended} session(s) ended` });
    // Disabling a disabled client changes nothing: no second event.
    if (before.disabledAt === null) await tx.events.append(now, { type: 'client_disabled', clientId: id, reason: 'client_disabled', initiator: 'admin' });
  });
}

/**
 * A new secret for a confidential client, without downtime: the current secret keeps working for
 * `overlapSeconds` more, long enough to roll the new one out. Only the new secret's hash is stored.
 */
export async function rotateClientSecret(store: Store, id: string, overlapSeconds: number, now: number): Promise<string> {
  const secret = randomToken(32);
  await store.transaction(async (tx) => {
    const client = await tx.clients.find(id);
    if (!client) throw new OperationRefused(`no client ${id}`);
    if (client.publicClient) throw new OperationRefused(`client ${id} is public and has no secret`);
    await tx.clients.rotateSecret(id, sha256Hex(secret), now + overlapSeconds);
    await audit(tx, now, { type: 'client_secret_rotated', actor: 'cli', subject: id, clientId: id, detail: `old secret valid ${overlapSeconds}s more` });
  });
  return secret;
}

export function clientJson(client: ClientRecord, secret?: string) {
  return {
    client_id: client.id,
    ...(secret === undefined ? {} : { client_secret: secret }),
    grant_types: client.grantTypes,
    scope: client.scope.join(' '),
    audience: client.audiences,
    introspect: client.introspect,
    ...(client.publicClient ? { token_endpoint_auth_method: 'none', origins: client.origins } : {}),
    ...(client.redirectUris.length > 0 ? { redirect_uris: client.redirectUris } : {}),
    ...(client.postLogoutRedirectUris.length > 0 ? { post_logout_redirect_uris: client.postLogoutRedirectUris } : {}),
    ...(client.thirdParty ? { third_party: true } : {}),
    ...(client.receiver ? { receiver: true } : {}),
    ...(secret === undefined ? { created_at: client.createdAt, disabled: client.disabledAt !== null } : {}),
  };
}
