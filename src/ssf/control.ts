/**
 * What the SSF API and the CLI share: changing a stream's status, and a stream's delivery state for operators
 * (`gatehouse streams list|show`).
 */
import type { Store } from '../storage/store.js';
import type { StreamRecord, StreamStatus } from '../storage/streams.js';

/**
 * Sets the status in one transaction. A disabled stream holds nothing (SSF 1.0 §8.1.2): what it owed is dropped,
 * and what happens while it is disabled is passed over when it is enabled again. A change of status is told to
 * the receiver with a stream-updated event (§8.1.5; held while paused, dropped while disabled). Undefined when the
 * stream does not exist (or does not belong to `clientId`, when given).
 */
export async function setStreamStatus(store: Store, streamId: string, status: StreamStatus, reason: string | null, now: number, clientId?: string): Promise<StreamRecord | undefined> {
  return store.transaction(async (tx) => {
    const current = await tx.streams.find(streamId, true);
    if (!current || (clientId !== undefined && current.clientId !== clientId)) return undefined;
    await tx.streams.update(streamId, { status, statusReason: reason }, now);
    if (status === 'disabled') await tx.streams.deleteAllPending(streamId);
    if (current.status === 'disabled' && status !== 'disabled') await tx.streams.skipTo(streamId, await tx.events.latestId());
    if (status !== current.status) {
      await tx.events.append(now, { type: 'stream_updated', streamId, detail: { status, ...(reason === null ? {} : { reason }) } });
    }
    return tx.streams.find(streamId);
  });
}

export interface StreamDeliveryState {
  stream: StreamRecord;
  /** SETs sorted into the stream and not acknowledged yet. */
  pending: number;
  /** When the oldest of them happened; null when none is pending. */
  oldestPendingAt: number | null;
  /** Outbox events the stream has not looked at yet (it looks at each poll, or each push run). */
  unsorted: number;
  /** Push only: SETs the receiver rejected (RFC 8935 §2.3) and SETs dead-lettered after the attempt limit. */
  rejected: number;
  dead: number;
}

export async function streamDeliveryState(store: Store, stream: StreamRecord): Promise<StreamDeliveryState> {
  const { count, oldest } = await store.streams.pendingSummary(stream.id);
  const latest = await store.events.latestId();
  const { rejected, dead } = await store.streams.undeliverableSummary(stream.id);
  return { stream, pending: count, oldestPendingAt: oldest, unsorted: await store.events.countAfter(stream.cursor, latest), rejected, dead };
}
