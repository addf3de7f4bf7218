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

/** The column sizes of audit_events (storage/migrations/004_security.ts), in characters. */
const LIMITS = { actor: 256, subject: 256, clientId: 128, detail: 512 } as const;

/**
 * Cuts a value to its column: a record of what happened must never fail to be written (PostgreSQL refuses an
 * over-long varchar; SQLite would keep it whole), whatever a client managed to put into it. Cut between code
 * points, never inside a surrogate pair; JavaScript's length counts UTF-16 units, never fewer than PostgreSQL's
 * characters, so what fits here fits there.
 */
function fit(raw: string, limit: number): string {
  const value = raw.replaceAll('\0', '\uFFFD'); // PostgreSQL refuses NUL in text
  if (value.length <= limit) return value;
  const points = Array.from(value);
  let cut = '';
  for (const point of points) {
    if (cut.length + point.length > limit - 1) break;
    cut += point;
  }
  return `${cut}…`;
}

const fitOptional = (value: string | null | undefined, limit: number) => (value === null || value === undefined ? null : fit(value, limit));

export function auditRecord(at: number, event: AuditEvent): AuditRecord {
  return {
    id: uuidv7(), // real milliseconds (and a counter): orders events within one second of `at`
    at,
    type: event.type,
    actor: fit(event.actor, LIMITS.actor),
    subject: fitOptional(event.subject, LIMITS.subject),
    clientId: fitOptional(event.clientId, LIMITS.clientId),
    detail: fitOptional(event.detail, LIMITS.detail),
  };
}

export function audit(store: Store, at: number, event: AuditEvent): Promise<void> {
  return store.audit.insert(auditRecord(at, event));
}

export function auditJson(record: Awaited<ReturnType<Store['audit']['list']>>[number]) {
  return { at: record.at, type: record.type, actor: record.actor, subject: record.subject, client_id: record.clientId, detail: record.detail };
}
