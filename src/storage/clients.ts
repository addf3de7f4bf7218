import type { Knex } from 'knex';
import { isUniqueViolation } from './database.js';
import type { HotReads } from './hot-reads.js';

export interface ClientRecord {
  id: string;
  /** SHA-256 hex of the secret; null for a client that has none. */
  secretHash: string | null;
  /** The secret before the last rotation, accepted until `previousSecretExpiresAt` (`clients rotate-secret`). */
  previousSecretHash: string | null;
  previousSecretExpiresAt: number | null;
  grantTypes: string[];
  scope: string[];
  audiences: string[];
  introspect: boolean;
  /** A public client (RFC 6749 §2.1) has no secret: token_endpoint_auth_method "none". */
  publicClient: boolean;
  /** Web origins (scheme://host[:port]) allowed to call /token and /revoke for this client (CORS). */
  origins: string[];
  /** Where authorization codes may be sent (RFC 6749 §3.1.2), compared exactly. */
  redirectUris: string[];
  /** Where a logout started by this client may return to, compared exactly. */
  postLogoutRedirectUris: string[];
  /** A third party: the user is asked to consent to its scopes before it gets a code. */
  thirdParty: boolean;
  /** A Shared Signals receiver: may manage event streams (ssf.manage) and poll them (ssf.read). */
  receiver: boolean;
  createdAt: number;
  disabledAt: number | null;
}

export interface ClientRow {
  id: string;
  secret_hash: string | null;
  previous_secret_hash: string | null;
  previous_secret_expires_at: number | null;
  grant_types: string;
  scope: string;
  audiences: string;
  introspect: number | boolean;
  public_client: number | boolean;
  origins: string;
  redirect_uris: string;
  post_logout_redirect_uris: string;
  third_party: number | boolean;
  receiver: number | boolean;
  created_at: number;
  disabled_at: number | null;
}

/**
 * Every column clientFromRow reads, named: the prepared statements of the hot reads list them rather than `*`, so
 * that a column another instance's migration adds while this one runs does not change their result (PostgreSQL
 * refuses a prepared plan whose result type changed: "cached plan must not change result type").
 */
export const CLIENT_COLUMNS = [
  'id',
  'secret_hash',
  'previous_secret_hash',
  'previous_secret_expires_at',
  'grant_types',
  'scope',
  'audiences',
  'introspect',
  'public_client',
  'origins',
  'redirect_uris',
  'post_logout_redirect_uris',
  'third_party',
  'receiver',
  'created_at',
  'disabled_at',
] as const satisfies ReadonlyArray<keyof ClientRow>;

const words = (value: string): string[] => (value === '' ? [] : value.split(' '));

export function clientFromRow(row: ClientRow): ClientRecord {
  return {
    id: row.id,
    secretHash: row.secret_hash,
    previousSecretHash: row.previous_secret_hash,
    previousSecretExpiresAt: row.previous_secret_expires_at === null ? null : Number(row.previous_secret_expires_at),
    grantTypes: words(row.grant_types),
    scope: words(row.scope),
    audiences: words(row.audiences),
    introspect: Boolean(row.introspect),
    publicClient: Boolean(row.public_client),
    origins: words(row.origins),
    redirectUris: words(row.redirect_uris),
    postLogoutRedirectUris: words(row.post_logout_redirect_uris),
    thirdParty: Boolean(row.third_party),
    receiver: Boolean(row.receiver),
    createdAt: Number(row.created_at),
    disabledAt: row.disabled_at === null ? null : Number(row.disabled_at),
  };
}

export class ClientStore {
  constructor(
    private readonly db: Knex,
    private readonly hot?: HotReads,
  ) {}

  async find(id: string): Promise<ClientRecord | undefined> {
    const row = this.hot ? ((await this.hot.clientRow(id)) as ClientRow | undefined) : await this.db<ClientRow>('clients').where({ id }).first();
    return row && clientFromRow(row);
  }

  async list(): Promise<ClientRecord[]> {
    const rows = await this.db<ClientRow>('clients').orderBy('created_at').orderBy('id');
    return rows.map(clientFromRow);
  }

  async count(): Promise<number> {
    const [row] = await this.db('clients').count<{ n: number | string }[]>({ n: '*' });
    return Number(row?.n ?? 0);
  }

  /** Inserts; returns false when the id is taken. */
  async insert(client: ClientRecord): Promise<boolean> {
    try {
      await this.db('clients').insert({
        id: client.id,
        secret_hash: client.secretHash,
        previous_secret_hash: client.previousSecretHash,
        previous_secret_expires_at: client.previousSecretExpiresAt,
        grant_types: client.grantTypes.join(' '),
        scope: client.scope.join(' '),
        audiences: client.audiences.join(' '),
        introspect: client.introspect,
        public_client: client.publicClient,
        origins: client.origins.join(' '),
        redirect_uris: client.redirectUris.join(' '),
        post_logout_redirect_uris: client.postLogoutRedirectUris.join(' '),
        third_party: client.thirdParty,
        receiver: client.receiver === true, // records built before receivers existed lack it
        created_at: client.createdAt,
        disabled_at: client.disabledAt,
      });
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /** Whether an enabled client lists `origin`: a CORS preflight names no client, only its origin. */
  async isOriginRegistered(origin: string): Promise<boolean> {
    const rows = await this.db<ClientRow>('clients').whereNull('disabled_at').whereNot('origins', '').select('origins');
    return rows.some((row) => words(row.origins).includes(origin));
  }

  /** Installs a new secret; the current one stays valid until `previousExpiresAt`. False when no such client. */
  async rotateSecret(id: string, secretHash: string, previousExpiresAt: number): Promise<boolean> {
    const updated = await this.db('clients')
      .where({ id })
      .whereNotNull('secret_hash')
      .update({
        previous_secret_hash: this.db.ref('secret_hash'),
        previous_secret_expires_at: previousExpiresAt,
        secret_hash: secretHash,
      });
    return updated > 0;
  }

  async disable(id: string, now: number): Promise<boolean> {
    const updated = await this.db('clients').where({ id }).update({ disabled_at: this.db.raw('COALESCE(disabled_at, ?)', [now]) });
    return updated > 0;
  }
}

