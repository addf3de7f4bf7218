import type { Knex } from 'knex';

export type KeyState = 'next' | 'current' | 'retired' | 'revoked';

export interface SigningKeyRecord {
  kid: string;
  alg: string;
  state: KeyState;
  publicJwk: string;
  /** The encrypted envelope (keys/encryption.ts), never the plain private key. */
  privateKey: string;
  createdAt: number;
  activatedAt: number | null;
  retiredAt: number | null;
  revokedAt: number | null;
}

interface KeyRow {
  kid: string;
  alg: string;
  state: KeyState;
  public_jwk: string;
  private_key: string;
  created_at: number;
  activated_at: number | null;
  retired_at: number | null;
  revoked_at: number | null;
}

const num = (value: number | null): number | null => (value === null ? null : Number(value));

function fromRow(row: KeyRow): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg,
    state: row.state,
    publicJwk: row.public_jwk,
    privateKey: row.private_key,
    createdAt: Number(row.created_at),
    activatedAt: num(row.activated_at),
    retiredAt: num(row.retired_at),
    revokedAt: num(row.revoked_at),
  };
}

export class SigningKeyStore {
  constructor(private readonly db: Knex) {}

  /** Every key that has not been deleted, oldest first. */
  async list(): Promise<SigningKeyRecord[]> {
    const rows = await this.db<KeyRow>('signing_keys').orderBy('created_at').orderBy('kid');
    return rows.map(fromRow);
  }

  async insert(key: SigningKeyRecord): Promise<void> {
    await this.db('signing_keys').insert({
      kid: key.kid,
      alg: key.alg,
      state: key.state,
      public_jwk: key.publicJwk,
      private_key: key.privateKey,
      created_at: key.createdAt,
      activated_at: key.activatedAt,
      retired_at: key.retiredAt,
      revoked_at: key.revokedAt,
    });
  }

  /**
   * Moves a key from one state to another only if it is still in `from`: the compare-and-set that lets several
   * instances run the same schedule while exactly one of them performs each step.
   */
  async transition(kid: string, from: KeyState, to: KeyState, times: Partial<Pick<SigningKeyRecord, 'activatedAt' | 'retiredAt' | 'revokedAt'>>): Promise<boolean> {
    const update: Record<string, unknown> = { state: to };
    if (times.activatedAt !== undefined) update.activated_at = times.activatedAt;
    if (times.retiredAt !== undefined) update.retired_at = times.retiredAt;
    if (times.revokedAt !== undefined) update.revoked_at = times.revokedAt;
    const updated = await this.db('signing_keys').where({ kid, state: from }).update(update);
    return updated === 1;
  }

  async delete(kid: string, state: KeyState): Promise<boolean> {
    return (await this.db('signing_keys').where({ kid, state }).delete()) === 1;
  }

  async replacePrivateKey(kid: string, privateKey: string): Promise<void> {
    await this.db('signing_keys').where({ kid }).update({ private_key: privateKey });
  }
}
