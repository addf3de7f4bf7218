/**
 * Poll delivery (RFC 8936): a receiver POSTs to its stream's endpoint with acknowledgements and error reports of
 * SETs it received, and gets the SETs its stream still owes. Acknowledged and reported SETs are not sent again
 * (§2.4: the transmitter "MAY discard"); the others are sent again at the next poll.
 *
 * Long polling (§2.1 returnImmediately, false by default) is honoured: with nothing to send, the request waits
 * on the outbox signal (woken at the commit of any event, storage/events.ts) and answers as soon as its stream
 * owes something, or with no SETs after GATEHOUSE_SSF_POLL_WAIT_SECONDS.
 */
import type { Deps } from '../deps.js';
import { invalidRequest } from '../errors.js';
import type { JsonObject } from '../http/json-body.js';
import type { EventRecord } from '../storage/events.js';
import { POLL_METHOD, type StreamRecord } from '../storage/streams.js';
import { eventIdOf, setClaims, setJti } from './event-types.js';
import { sortIntoStream } from './fan-out.js';
import { signSet } from './sign.js';
import { ownStream } from './streams.js';

/** The most SETs one answer carries, whatever maxEvents asks (the answer stays small). */
export const MAX_EVENTS_PER_POLL = 100;
const MAX_ACKS = 1000;

export interface PollRequest {
  maxEvents: number;
  returnImmediately: boolean;
  ack: string[];
  setErrs: Array<{ jti: string; err: string; description: string | undefined }>;
}

/** RFC 8936 §2.1 request members; unknown members are ignored. */
export function parsePollRequest(body: JsonObject): PollRequest {
  const { maxEvents, returnImmediately, ack, setErrs } = body;
  if (maxEvents !== undefined && (typeof maxEvents !== 'number' || !Number.isSafeInteger(maxEvents) || maxEvents < 0)) {
    throw invalidRequest('maxEvents must be a non-negative integer');
  }
  if (returnImmediately !== undefined && typeof returnImmediately !== 'boolean') throw invalidRequest('returnImmediately must be a boolean');
  if (ack !== undefined && (!Array.isArray(ack) || ack.length > MAX_ACKS || ack.some((jti) => typeof jti !== 'string' || jti.length > 256))) {
    throw invalidRequest(`ack must be an array of at most ${MAX_ACKS} jti strings`);
  }
  const errors: PollRequest['setErrs'] = [];
  if (setErrs !== undefined) {
    if (typeof setErrs !== 'object' || setErrs === null || Array.isArray(setErrs) || Object.keys(setErrs).length > MAX_ACKS) {
      throw invalidRequest('setErrs must be an object of jti to {err, description}');
    }
    for (const [jti, report] of Object.entries(setErrs as JsonObject)) {
      const { err, description } = (report ?? {}) as JsonObject;
      if (jti.length > 256 || typeof err !== 'string' || err.length > 64 || (description !== undefined && typeof description !== 'string')) {
        throw invalidRequest('setErrs must map each jti to an object with err and description strings');
      }
      errors.push({ jti, err, description: description as string | undefined });
    }
  }
  return {
    maxEvents: Math.min(maxEvents ?? MAX_EVENTS_PER_POLL, MAX_EVENTS_PER_POLL),
    // RFC 8936 §2.1: "The default value is false, which indicates the request is to be treated as an HTTP long poll".
    returnImmediately: returnImmediately ?? false,
    ack: ack ?? [],
    setErrs: errors,
  };
}

interface Step {
  stream: StreamRecord;
  events: EventRecord[];
  more: boolean;
}

/**
 * One look at the stream, in one transaction (its row locked on PostgreSQL): acknowledgements first, then the
 * new outbox events sorted in, then what it owes.
 */
async function step(deps: Deps, streamId: string, clientId: string, request: PollRequest, acks: number[]): Promise<Step> {
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const stream = ownStream(await tx.streams.find(streamId, true), clientId);
    // RFC 8936 is one delivery method; a push stream's SETs go to its endpoint (RFC 8935), not to a poll.
    if (stream.delivery.method !== POLL_METHOD) throw invalidRequest('The stream delivers by push (urn:ietf:rfc:8935), not by poll');
    await tx.streams.acknowledge(stream.id, acks);
    await sortIntoStream(tx, deps.issuer, stream, now);
    await tx.streams.markPolled(stream.id, now);
    if (stream.status !== 'enabled') return { stream, events: [], more: false };
    const { events, more } = await tx.streams.pending(stream.id, request.maxEvents);
    return { stream, events, more };
  });
}

export async function poll(deps: Deps, streamId: string, clientId: string, request: PollRequest, abort: AbortSignal): Promise<{ sets: Record<string, string>; moreAvailable: boolean }> {
  const acks: number[] = [];
  for (const jti of [...request.ack, ...request.setErrs.map((report) => report.jti)]) {
    const id = eventIdOf(streamId, jti);
    if (id !== undefined) acks.push(id);
  }
  for (const report of request.setErrs) {
    deps.log.warn('ssf: a receiver reported a SET it could not process', { stream_id: streamId, jti: report.jti.slice(0, 80), err: report.err.slice(0, 64) });
  }
  const deadline = Date.now() + deps.config.ssfPollWaitSeconds * 1000;
  const signal = deps.store.eventSignal;
  // Read before every look at the outbox: an event committed after the look but before the wait below wakes
  // nobody (the wait is not registered yet), and would otherwise wait for the signal's timer.
  let seen = signal.generation;
  let result = await step(deps, streamId, clientId, request, acks);
  const wait = !request.returnImmediately && request.maxEvents > 0 && result.stream.status === 'enabled';
  // A stream paused or disabled while the poll waits answers at once: nothing will come, and a receiver that
  // trusts a cache must learn it now, not at the end of the wait.
  while (wait && result.stream.status === 'enabled' && result.events.length === 0 && !abort.aborted && Date.now() < deadline) {
    await signal.wait(deadline - Date.now(), abort, seen);
    if (abort.aborted) break;
    seen = signal.generation;
    // Only a new outbox event can change what the stream owes: look before taking the write lock.
    if ((await deps.store.events.latestId()) <= result.stream.cursor) continue;
    result = await step(deps, streamId, clientId, request, []);
  }
  const key = deps.keys.signingKey();
  const now = deps.clock.now();
  const sets: Record<string, string> = {};
  for (const event of result.events) sets[setJti(streamId, event.id)] = signSet(key, setClaims(deps.issuer, event, result.stream, now));
  return { sets, moreAvailable: result.more };
}
