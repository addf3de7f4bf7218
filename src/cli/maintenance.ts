import { runJanitor } from '../maintenance/janitor.js';
import type { Command } from './context.js';
import { createOutput, parseOptions } from './io.js';

/** `gatehouse migrate`: cli/main.ts has already applied pending migrations when it opened the database. */
export const migrate: Command = async (_context, args) => {
  const { values } = parseOptions(args, {});
  createOutput(values.json ?? false).result({ migrated: true }, () => 'database schema is up to date');
};

/** `gatehouse janitor`: one run of what the server does in the background every GATEHOUSE_JANITOR_INTERVAL. */
export const janitor: Command = async ({ store, clock, config }, args) => {
  const { values } = parseOptions(args, {});
  const report = await runJanitor(store, clock, { eventRetentionSeconds: config.eventRetentionSeconds, ssfInactivityTimeoutSeconds: config.ssfInactivityTimeoutSeconds });
  createOutput(values.json ?? false).result(
    {
      revocations_deleted: report.revocations,
      refresh_tokens_deleted: report.refreshTokens,
      sessions_deleted: report.sessions,
      throttle_counters_deleted: report.throttleCounters,
      audit_events_deleted: report.auditEvents,
      events_deleted: report.events,
      streams_disabled: report.streamsDisabled,
      streams_deleted: report.streamsDeleted,
    },
    () =>
      `deleted ${report.revocations} revocation(s), ${report.refreshTokens} refresh token(s), ${report.sessions} session(s), ` +
      `${report.throttleCounters} throttle counter(s), ${report.auditEvents} audit event(s), ${report.events} outbox event(s), ` +
      `${report.streamsDisabled} inactive stream(s) disabled, ${report.streamsDeleted} deleted`,
  );
};
