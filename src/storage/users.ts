import type { Knex } from 'knex';
import { isUniqueViolation } from './database.js';

export interface UserRecord {
  /** The stable `sub`. */
  id: string;
  username: string;
  passwordHash: string;
  createdAt: number;
  disabledAt: number | null;
  /** Incremented by every password change: a login opens its session only if it is still the one checked. */
  credentialGeneration: number;
}

interface UserRow {
  id: string;
  username: string;
  username_key: string;
  password_hash: string;
  created_at: number;
  disabled_at: number | null;
  credential_generation: number;
}

/**
 * The lookup key of a username: NFKC folds compatibility forms (full-width letters, ligatures) and lower case
 * makes "Alice" and "alice" one account, so look-alike registrations cannot impersonate each other.
 */
export function usernameKey(username: string): string {
  return username.normalize('NFKC').toLowerCase();
}

function fromRow(row: UserRow): UserRecord {
  return {
    id: row.id,
    username: row.username,
    passwordHash: row.password_hash,
    createdAt: Number(row.created_at),
    disabledAt: row.disabled_at === null ? null : Number(row.disabled_at),
    credentialGeneration: Number(row.credential_generation),
  };
}

export class UserStore {
  constructor(private readonly db: Knex) {}

  async findById(id: string): Promise<UserRecord | undefined> {
    const row = await this.db<UserRow>('users').where({ id }).first();
    return row && fromRow(row);
  }

  async findByUsername(username: string): Promise<UserRecord | undefined> {
    // No stored name holds NUL, and PostgreSQL refuses NUL in a text parameter outright.
    if (username.includes('\0')) return undefined;
    const row = await this.db<UserRow>('users').where({ username_key: usernameKey(username) }).first();
    return row && fromRow(row);
  }

  /** Inserts; returns false when the username is taken. */
  async insert(user: UserRecord): Promise<boolean> {
    try {
      await this.db('users').insert({
        id: user.id,
        username: user.username,
        username_key: usernameKey(user.username),
        password_hash: user.passwordHash,
        created_at: user.createdAt,
        disabled_at: user.disabledAt,
        credential_generation: user.credentialGeneration,
      });
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /** A new password: a new credential generation, which logins still in flight will not match. */
  async setPasswordHash(id: string, passwordHash: string): Promise<void> {
    await this.db('users')
      .where({ id })
      .update({ password_hash: passwordHash, credential_generation: this.db.raw('credential_generation + 1') });
  }

  /**
   * The user's credential generation and disabled state, read inside a transaction that opens a session. On
   * PostgreSQL the row is locked FOR SHARE: a password change or a disable (which update the row first) either
   * waits for this transaction, and then ends the session it opened, or has committed, and is seen here.
   * SQLite write transactions hold the database lock already.
   */
  async lockForLogin(id: string): Promise<{ credentialGeneration: number; disabledAt: number | null } | undefined> {
    const query = this.db<UserRow>('users').where({ id }).first('credential_generation', 'disabled_at');
    if (this.db.client.config.client === 'pg') query.forShare();
    const row = await query;
    return row && { credentialGeneration: Number(row.credential_generation), disabledAt: row.disabled_at === null ? null : Number(row.disabled_at) };
  }

  /** Compare-and-set, for an opportunistic re-hash at login: a concurrent password change wins. */
  async replacePasswordHash(id: string, expected: string, passwordHash: string): Promise<void> {
    await this.db('users').where({ id, password_hash: expected }).update({ password_hash: passwordHash });
  }

  async setDisabled(id: string, disabledAt: number | null): Promise<void> {
    await this.db('users').where({ id }).update({ disabled_at: disabledAt });
  }
}
