import type { Knex } from 'knex';

/** What a user allowed a third-party client: the scopes, remembered per (user, client) until revoked. */
export interface ConsentRecord {
  userId: string;
  clientId: string;
  scope: string[];
  grantedAt: number;
}

interface Row {
  user_id: string;
  client_id: string;
  scope: string;
  granted_at: number;
}

function fromRow(row: Row): ConsentRecord {
  return { userId: row.user_id, clientId: row.client_id, scope: row.scope === '' ? [] : row.scope.split(' '), grantedAt: Number(row.granted_at) };
}

export class ConsentStore {
  constructor(private readonly db: Knex) {}

  async find(userId: string, clientId: string): Promise<ConsentRecord | undefined> {
    const row = await this.db<Row>('consents').where({ user_id: userId, client_id: clientId }).first();
    return row && fromRow(row);
  }

  /** Stores the consent, replacing an earlier one of the same user to the same client. */
  async save(consent: ConsentRecord): Promise<void> {
    await this.db('consents')
      .insert({ user_id: consent.userId, client_id: consent.clientId, scope: consent.scope.join(' '), granted_at: consent.grantedAt })
      .onConflict(['user_id', 'client_id'])
      .merge(['scope', 'granted_at']);
  }

  /** Forgets a consent; true if there was one. */
  async revoke(userId: string, clientId: string): Promise<boolean> {
    return (await this.db('consents').where({ user_id: userId, client_id: clientId }).delete()) > 0;
  }

  async listForUser(userId: string): Promise<ConsentRecord[]> {
    const rows = await this.db<Row>('consents').where({ user_id: userId }).orderBy('client_id');
    return rows.map(fromRow);
  }
}
