/**
 * Sorting new outbox events into a stream: what its receiver asked for (events_delivered), about subjects not
 * removed from it, and events addressed to this stream (verification, stream-updated). Poll and push both do it
 * in their transaction, before reading what the stream owes.
 */
import type { EventRecord } from '../storage/events.js';
import type { Store } from '../storage/store.js';
import type { StreamRecord } from '../storage/streams.js';
import { eventTypeUri } from './event-types.js';
import { eventsDelivered } from './streams.js';
import { isExcluded } from './subjects.js';

export async function sortIntoStream(tx: Store, issuer: string, stream: StreamRecord, now: number): Promise<number> {
  const delivered = new Set(eventsDelivered(stream, issuer));
  const excluded = await tx.streams.excludedSubjects(stream.id);
  // A disabled stream holds nothing (SSF 1.0 §8.1.2); a paused one holds its events until it is enabled.
  const wanted = (event: EventRecord) =>
    stream.status !== 'disabled' &&
    (event.streamId !== null ? event.streamId === stream.id : delivered.has(eventTypeUri(issuer, event.type)) && !isExcluded(event, excluded));
  return tx.streams.fanOut(stream, wanted, now);
}
