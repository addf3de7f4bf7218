import type { Knex } from 'knex';

export type AuditType =
  | 'login'
  | 'login_failed'
  | 'lockout'
  | 'refresh_reuse'
  | 'code_reuse'
  | 'consent_granted'
  | 'consent_revoked'
  | 'session_ended'
  | 'user_disabled'
  | 'user_enabled'
  | 'password_changed'
  | 'client_disabled'
  | 'client_secret_rotated'
  | 'key_rotated'
  | 'key_revoked';

export interface AuditEvent {
  type: AuditType;
  /** Who did it: `ip:<address>`, `admin-api:<client_id>`, `client:<client_id>`, `cli` or `system`. */
  actor: string;
  /** Whom it concerns: a username, a sid, a kid or a client id. */
  subject?: string | null;
  clientId?: string | null;
  /** A short, secret-free note (a reason, a count). */
  detail?: string | null;
}

export interface AuditRecord extends Required<AuditEvent> {
  id: string;
  at: number;
}

interface Row {
  id: string;
  at: number;
  type: AuditType;
  actor: string;
  subject: string | null;
  client_id: string | null;
  detail: string | null;
}

export class AuditStore {
  constructor(private readonly db: Knex) {}

  async insert(record: AuditRecord): Promise<void> {
    await this.db('audit_events').insert({
      id: record.id,
      at: record.at,
      type: record.type,
      actor: record.actor,
      subject: record.subject,
      client_id: record.clientId,
      detail: record.detail,
    });
  }

  /** Newest first. */
  async list(filter: { subject?: string; since?: number; limit: number }): Promise<AuditRecord[]> {
    const query = this.db<Row>('audit_events').orderBy('at', 'desc').orderBy('id', 'desc').limit(filter.limit);
    if (filter.subject !== undefined) query.where('subject', filter.subject);
    if (filter.since !== undefined) query.where('at', '>=', filter.since);
    const rows: Row[] = await query;
    return rows.map((row) => ({
      id: row.id,
      at: Number(row.at),
      type: row.type,
      actor: row.actor,
      subject: row.subject,
      clientId: row.client_id,
      detail: row.detail,
    }));
  }

  deleteOlderThan(before: number, limit: number): Promise<number> {
    const batch = this.db('audit_events').select('id').where('at', '<', before).limit(limit);
    return this.db('audit_events').whereIn('id', batch).delete();
  }
}
