/**
 * `gatehouse streams list|show|disable`: the Shared Signals streams receivers created, with their delivery state
 * (what each still owes, since when, and what it has not looked at yet), and disabling one.
 */
import { OperationRefused } from '../errors.js';
import { setStreamStatus, streamDeliveryState, type StreamDeliveryState } from '../ssf/control.js';
import { PUSH_METHOD, statusJson } from '../ssf/streams.js';
import type { Command } from './context.js';
import { createOutput, isoTime, parseOptions, table, UsageError } from './io.js';

const isoMs = (epochMs: number | null) => (epochMs === null ? null : new Date(epochMs).toISOString());

/**
 * What the CLI shows of a stream: no poll URL, since without GATEHOUSE_ISSUER the CLI cannot know the server's;
 * for push, the receiver's endpoint and the delivery record, never the authorization header.
 */
function stateJson(state: StreamDeliveryState) {
  const { stream } = state;
  const push =
    stream.delivery.method === PUSH_METHOD
      ? {
          endpoint_url: stream.delivery.endpointUrl,
          delivered: stream.push.delivered,
          rejected: state.rejected,
          dead_lettered: state.dead,
          last_attempt_at: isoMs(stream.push.lastAttemptAt),
          last_success_at: isoMs(stream.push.lastSuccessAt),
          last_error: stream.push.lastError,
          next_retry_at: isoMs(stream.push.retryAt),
        }
      : undefined;
  return {
    ...statusJson(stream),
    client_id: stream.clientId,
    aud: stream.audience,
    events_requested: stream.eventsRequested,
    ...(stream.description === null ? {} : { description: stream.description }),
    created_at: stream.createdAt,
    polled_at: stream.polledAt,
    pending: state.pending,
    oldest_pending_at: state.oldestPendingAt,
    unsorted: state.unsorted,
    delivery: stream.delivery.method === PUSH_METHOD ? 'push' : 'poll',
    ...(push ? { push } : {}),
  };
}

const list: Command = async (context, args) => {
  const { values } = parseOptions(args, { client: { type: 'string' } });
  const streams = await context.store.streams.list(values.client);
  const states = await Promise.all(streams.map((stream) => streamDeliveryState(context.store, stream)));
  const now = context.clock.now();
  createOutput(values.json ?? false).result(states.map(stateJson), () =>
    table(
      ['STREAM', 'CLIENT', 'STATUS', 'PENDING', 'OLDEST PENDING', 'UNSORTED', 'LAST POLL/PUSH', 'DELIVERY', 'DEAD', 'LAST ERROR'],
      states.map((s) => {
        const push = s.stream.delivery.method === PUSH_METHOD;
        return [
          s.stream.id,
          s.stream.clientId,
          s.stream.status,
          String(s.pending),
          s.oldestPendingAt === null ? '-' : `${now - s.oldestPendingAt}s ago`,
          String(s.unsorted),
          push ? (isoMs(s.stream.push.lastAttemptAt) ?? 'never') : s.stream.polledAt === null ? 'never' : isoTime(s.stream.polledAt),
          push ? 'push' : 'poll',
          push ? String(s.dead) : '-',
          push ? (s.stream.push.lastError ?? '-') : '-',
        ];
      }),
    ),
  );
};

const show: Command = async (context, args) => {
  const { values, positionals } = parseOptions(args, {}, 1);
  const id = positionals[0];
  if (id === undefined) throw new UsageError('usage: gatehouse streams show STREAM_ID');
  const stream = await context.store.streams.find(id);
  if (!stream) throw new OperationRefused(`no stream ${id}`);
  const state = stateJson(await streamDeliveryState(context.store, stream));
  createOutput(values.json ?? false).result(state, () =>
    Object.entries(state)
      .map(([name, value]) => `${`${name}:`.padEnd(20)}${typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value ?? '-')}`)
      .join('\n'),
  );
};

/** Disables a stream: its receiver gets nothing more until it enables the stream again (what it owed is dropped). */
const disable: Command = async (context, args) => {
  const { values, positionals } = parseOptions(args, { reason: { type: 'string' } }, 1);
  const id = positionals[0];
  if (id === undefined) throw new UsageError('usage: gatehouse streams disable STREAM_ID [--reason TEXT]');
  const reason = values.reason ?? 'disabled by an operator';
  const stream = await setStreamStatus(context.store, id, 'disabled', reason, context.clock.now());
  if (!stream) throw new OperationRefused(`no stream ${id}`);
  context.log.info('ssf: stream disabled', { stream_id: id, by: 'cli' });
  createOutput(values.json ?? false).result(statusJson(stream), () => `stream ${id} disabled`);
};

export const streamCommands: Record<string, Command> = { list, show, disable };
