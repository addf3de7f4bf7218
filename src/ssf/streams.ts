/**
 * Stream management (OpenID SSF 1.0 §8.1): what a receiver may create, read, change and delete, validated here;
 * the stream configuration and status as JSON. Delivery by poll (RFC 8936, the default: its endpoint_url is the
 * transmitter's, one per stream) or by push (RFC 8935: the receiver's endpoint_url, checked by ssf/push-url.ts,
 * and an optional authorization_header that is stored to be sent and never shown again).
 */
import { invalidRequest, notFound } from '../errors.js';
import type { JsonObject } from '../http/json-body.js';
import { optionalString } from '../http/json-body.js';
import { POLL_METHOD, PUSH_METHOD, type StreamRecord, type StreamStatus } from '../storage/streams.js';
import { eventsSupported } from './event-types.js';

export { POLL_METHOD, PUSH_METHOD };
export const STREAM_STATUSES: readonly StreamStatus[] = ['enabled', 'paused', 'disabled'];
/** Streams one receiver may hold: each API instance opens its own, but not without bound. */
export const MAX_STREAMS_PER_RECEIVER = 100;
const MAX_EVENT_TYPES = 50;

/** The receiver-supplied properties of a stream (SSF 1.0 §8.1.1): delivery, events_requested, description. */
export interface StreamSettings {
  /** As asked; a push endpoint_url still has to pass checkPushUrl (it resolves the host) before it is stored. */
  delivery?: { method: typeof POLL_METHOD } | { method: typeof PUSH_METHOD; endpointUrl: string; authorization: string | null };
  eventsRequested?: string[];
  description?: string | null;
}

export function parseStreamSettings(body: JsonObject): StreamSettings {
  const settings: StreamSettings = {};
  const delivery = body.delivery;
  if (delivery !== undefined) {
    if (typeof delivery !== 'object' || delivery === null || Array.isArray(delivery)) throw invalidRequest('delivery must be an object');
    const { method, endpoint_url: endpointUrl, authorization_header: authorization } = delivery as JsonObject;
    if (method === undefined || method === POLL_METHOD) {
      // Poll: the endpoint is the transmitter's (SSF 1.0 §8.1.1 "supplied by the Transmitter"); one sent is ignored.
      settings.delivery = { method: POLL_METHOD };
    } else if (method === PUSH_METHOD) {
      // SSF 1.0 §8.1.1: for push, endpoint_url is supplied by the receiver; authorization_header is optional.
      if (typeof endpointUrl !== 'string' || endpointUrl === '') throw invalidRequest('delivery.endpoint_url is required for push delivery');
      if (authorization !== undefined && (typeof authorization !== 'string' || authorization.length === 0 || authorization.length > 4096 || !/^[\x20-\x7e]+$/.test(authorization))) {
        throw invalidRequest('delivery.authorization_header must be a header value of at most 4096 printable ASCII characters');
      }
      settings.delivery = { method: PUSH_METHOD, endpointUrl, authorization: (authorization as string | undefined) ?? null };
    } else {
      throw invalidRequest(`delivery method must be ${POLL_METHOD} (poll) or ${PUSH_METHOD} (push)`);
    }
  }
  const requested = body.events_requested;
  if (requested !== undefined) {
    if (!Array.isArray(requested) || requested.length > MAX_EVENT_TYPES || requested.some((uri) => typeof uri !== 'string' || uri.length === 0 || uri.length > 256 || /\s/.test(uri))) {
      throw invalidRequest(`events_requested must be an array of at most ${MAX_EVENT_TYPES} event type URIs`);
    }
    settings.eventsRequested = [...new Set(requested as string[])];
  }
  const description = optionalString(body, 'description', 1000);
  if (description !== undefined) settings.description = description;
  return settings;
}

/** events_delivered: what was requested and is supported (SSF 1.0 §8.1.1). */
export function eventsDelivered(stream: Pick<StreamRecord, 'eventsRequested'>, issuer: string): string[] {
  const supported = new Set(eventsSupported(issuer));
  return stream.eventsRequested.filter((uri) => supported.has(uri));
}

export const pollEndpoint = (issuer: string, streamId: string) => `${issuer}/ssf/poll/${streamId}`;

export function streamJson(stream: StreamRecord, issuer: string, inactivityTimeoutSeconds: number) {
  return {
    stream_id: stream.id,
    iss: issuer,
    aud: stream.audience,
    events_supported: eventsSupported(issuer),
    events_requested: stream.eventsRequested,
    events_delivered: eventsDelivered(stream, issuer),
    // The authorization_header is never returned: it is the receiver's secret.
    delivery: stream.delivery.method === PUSH_METHOD ? { method: PUSH_METHOD, endpoint_url: stream.delivery.endpointUrl } : { method: POLL_METHOD, endpoint_url: pollEndpoint(issuer, stream.id) },
    ...(stream.description === null ? {} : { description: stream.description }),
    // SSF 1.0 §8.1.1: seconds without a request from the receiver after which the stream is disabled; a push
    // stream's receiver need not call at all, so push streams have none.
    ...(stream.delivery.method === PUSH_METHOD ? {} : { inactivity_timeout: inactivityTimeoutSeconds }),
  };
}

export function statusJson(stream: StreamRecord) {
  return { stream_id: stream.id, status: stream.status, ...(stream.statusReason === null ? {} : { reason: stream.statusReason }) };
}

/** The stream, if it exists and belongs to `clientId`; another receiver's stream is as unknown as a missing one. */
export function ownStream(stream: StreamRecord | undefined, clientId: string): StreamRecord {
  if (!stream || stream.clientId !== clientId) throw notFound('No such stream');
  return stream;
}

export function parseStatus(value: unknown): StreamStatus {
  if (typeof value !== 'string' || !(STREAM_STATUSES as readonly string[]).includes(value)) throw invalidRequest(`status must be one of ${STREAM_STATUSES.join(', ')}`);
  return value as StreamStatus;
}
