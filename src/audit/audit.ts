/**
 * The security audit trail: who did what to whom, and when. Events are written in the transaction of the
 * change they describe where there is one, so the trail and the state cannot disagree after a crash. No event
 * ever carries a secret, a token or a password; a failed login for a username that does not exist records no
 * subject, since people type passwords into username fields.
 */
import { uuidv7 } from '../lib/ids.js';
import type { AuditEvent, AuditRecord } from '../storage/audit.js';
import type { Store } from '../storage/store.js';

export type { AuditEvent, AuditType } from '../storage/audit.js';

export function auditRecord(at: number, event: AuditEvent): AuditRecord {
  return {
    id: uuidv7(), // real milliseconds (and a counter): orders events within one second of `at`
    at,
    type: event.type,
    actor: event.actor,
    subject: event.subject ?? null,
    clientId: event.clientId ?? null,
    detail: event.detail ?? null,
  };
}

export function audit(store: Store, at: number, event: AuditEvent): Promise<void> {
  return store.audit.insert(auditRecord(at, event));
}

export function auditJson(record: Awaited<ReturnType<Store['audit']['list']>>[number]) {
  return { at: record.at, type: record.type, actor: record.actor, subject: record.subject, client_id: record.clientId, detail: record.detail };
}
