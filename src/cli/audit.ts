import { auditJson } from '../audit/audit.js';
import { OperationRefused } from '../errors.js';
import type { Command } from './context.js';
import { createOutput, isoTime, parseOptions, table, UsageError } from './io.js';

/** `--since`: epoch seconds, an ISO date, or a duration back from now (30m, 24h, 7d). */
export function parseSince(value: string, now: number): number {
  if (/^\d+$/.test(value)) return Number(value);
  const duration = /^(\d+)([smhd])$/.exec(value);
  if (duration) return now - Number(duration[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[duration[2] as 's' | 'm' | 'h' | 'd'];
  const date = Date.parse(value);
  if (Number.isNaN(date)) throw new UsageError(`--since takes epoch seconds, an ISO date or a duration like 24h, got ${value}`);
  return Math.floor(date / 1000);
}

/** `gatehouse audit [--user U] [--since …] [--limit N] [--json]`: the security events, newest first. */
export const auditCommand: Command = async ({ store, clock }, args) => {
  const { values } = parseOptions(args, { user: { type: 'string' }, since: { type: 'string' }, limit: { type: 'string' } });
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new UsageError('--limit takes a whole number from 1 to 100000');
  let subject: string | undefined;
  if (values.user !== undefined) {
    const user = await store.users.findByUsername(values.user);
    if (!user) throw new OperationRefused(`no user ${values.user}`);
    subject = user.username;
  }
  const events = await store.audit.list({
    limit,
    ...(subject === undefined ? {} : { subject }),
    ...(values.since === undefined ? {} : { since: parseSince(values.since, clock.now()) }),
  });
  createOutput(values.json ?? false).result(events.map(auditJson), () =>
    table(
      ['TIME', 'EVENT', 'ACTOR', 'SUBJECT', 'CLIENT', 'DETAIL'],
      events.map((e) => [isoTime(e.at), e.type, e.actor, e.subject ?? '-', e.clientId ?? '-', e.detail ?? '']),
    ),
  );
};
