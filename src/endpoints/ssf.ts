/**
 * The Shared Signals transmitter's HTTP API (OpenID SSF 1.0): the configuration metadata at
 * /.well-known/ssf-configuration (§7), stream management (§8.1: configuration, status, verification) and poll
 * delivery (RFC 8936). Callers are receivers (`gatehouse clients create … --receiver`) with a client_credentials
 * token issued for this issuer: `ssf.manage` to change streams, `ssf.read` (or `ssf.manage`) to read them and to
 * poll. A receiver sees only its own streams; another's stream answers 404 like one that does not exist.
 */
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import type { Deps } from '../deps.js';
import { accessDenied, invalidRequest } from '../errors.js';
import { requireBearer, type BearerState } from '../http/bearer-auth.js';
import { queryParameter, readJsonObject, requiredString } from '../http/json-body.js';
import { noStore } from '../http/no-store.js';
import { uuidv4 } from '../lib/ids.js';
import { setStreamStatus } from '../ssf/control.js';
import { eventsSupported } from '../ssf/event-types.js';
import { parsePollRequest, poll } from '../ssf/poll.js';
import { SSF_MANAGE_SCOPE, SSF_READ_SCOPE } from '../ssf/scopes.js';
import { parseSubject } from '../ssf/subjects.js';
import { sealAuthorization } from '../ssf/push-authorization.js';
import { checkPushUrl, pushUrlPolicy, PushUrlRefused } from '../ssf/push-url.js';
import { MAX_STREAMS_PER_RECEIVER, ownStream, parseStatus, parseStreamSettings, POLL_METHOD, PUSH_METHOD, statusJson, streamJson, type StreamSettings } from '../ssf/streams.js';
import type { Delivery, StreamRecord } from '../storage/streams.js';

/** The receiver a request comes from: the client of its token, which must be registered as a receiver. */
/** Subjects one stream may have removed. */
const MAX_REMOVED_SUBJECTS = 10_000;

function receiverOf(ctx: Context): string {
  return (ctx.state as BearerState).token.claims.client_id;
}

/**
 * The delivery a receiver asked for of stream `streamId`, with a push endpoint_url checked against the allow-list
 * (ssf/push-url.ts; refused with 400 invalid_request before anything is stored) and its authorization_header
 * sealed to the stream (ssf/push-authorization.ts).
 */
async function checkedDelivery(deps: Deps, streamId: string, delivery: StreamSettings['delivery']): Promise<Delivery | undefined> {
  if (delivery === undefined || delivery.method === POLL_METHOD) return delivery;
  try {
    const endpointUrl = await checkPushUrl(delivery.endpointUrl, pushUrlPolicy(deps.issuer));
    const sealedAuthorization = delivery.authorization === null ? null : sealAuthorization(deps.keys.encryption, streamId, delivery.authorization);
    return { method: PUSH_METHOD, endpointUrl, sealedAuthorization };
  } catch (error) {
    if (error instanceof PushUrlRefused) throw invalidRequest(error.message);
    throw error;
  }
}

function requireReceiver(deps: Deps, scopes: readonly string[]) {
  const bearer = requireBearer(deps, scopes);
  return async function receiver(ctx: Context, next: Next): Promise<void> {
    await bearer(ctx, async () => {
      const client = await deps.store.clients.find(receiverOf(ctx));
      if (!client?.receiver) throw accessDenied('The client is not registered as a Shared Signals receiver');
      await next();
    });
  };
}

/** GET /.well-known/ssf-configuration{issuer path} (SSF 1.0 §7.1, §7.2; RFC 8615). */
export function ssfConfigurationEndpoint(deps: Deps) {
  return async function ssfConfiguration(ctx: Context): Promise<void> {
    const issuer = deps.issuer;
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = {
      spec_version: '1_0',
      issuer,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      delivery_methods_supported: [POLL_METHOD, PUSH_METHOD],
      configuration_endpoint: `${issuer}/ssf/streams`,
      status_endpoint: `${issuer}/ssf/status`,
      verification_endpoint: `${issuer}/ssf/verify`,
      add_subject_endpoint: `${issuer}/ssf/subjects/add`,
      remove_subject_endpoint: `${issuer}/ssf/subjects/remove`,
      // SSF 1.0 §7.1: how receivers get their access token (RFC 6749 client credentials).
      authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6749' }],
      default_subjects: 'ALL',
      events_supported: eventsSupported(issuer),
    };
  };
}

export function ssfRoutes(deps: Deps, prefix: string): Router {
  const router = new Router({ prefix, strict: true, sensitive: true });
  const manage = requireReceiver(deps, [SSF_MANAGE_SCOPE]);
  const read = requireReceiver(deps, [SSF_READ_SCOPE, SSF_MANAGE_SCOPE]);

  const streamFromQuery = async (ctx: Context, required: boolean): Promise<StreamRecord | undefined> => {
    const id = queryParameter(ctx, 'stream_id');
    if (id === undefined) {
      if (required) throw invalidRequest('stream_id is required');
      return undefined;
    }
    return ownStream(await deps.store.streams.find(id), receiverOf(ctx));
  };
  const streamFromBody = async (ctx: Context, body: Record<string, unknown>): Promise<StreamRecord> =>
    ownStream(await deps.store.streams.find(requiredString(body, 'stream_id', 64)), receiverOf(ctx));

  // SSF 1.0 §8.1.1.1: create a stream. Its aud is the receiver; it receives what happens from now on.
  router.post('/streams', noStore, manage, async (ctx) => {
    const body = await readJsonObject(ctx);
    if (body.stream_id !== undefined) throw invalidRequest('stream_id is assigned by the transmitter');
    const settings = parseStreamSettings(body);
    const id = uuidv4();
    const delivery = (await checkedDelivery(deps, id, settings.delivery)) ?? { method: POLL_METHOD };
    const clientId = receiverOf(ctx);
    if ((await deps.store.streams.count(clientId)) >= MAX_STREAMS_PER_RECEIVER) throw invalidRequest(`A receiver may hold at most ${MAX_STREAMS_PER_RECEIVER} streams`);
    const now = deps.clock.now();
    const stream: StreamRecord = {
      id,
      clientId,
      audience: clientId,
      // events_requested absent: every supported event type.
      eventsRequested: settings.eventsRequested ?? eventsSupported(deps.issuer),
      description: settings.description ?? null,
      status: 'enabled',
      statusReason: null,
      cursor: await deps.store.events.latestId(),
      createdAt: now,
      updatedAt: now,
      polledAt: null,
      delivery,
      push: { delivered: 0, lastAttemptAt: null, lastSuccessAt: null, lastError: null, retryAt: null },
    };
    await deps.store.streams.insert(stream);
    deps.log.info('ssf: stream created', { stream_id: stream.id, client_id: clientId, delivery: delivery.method });
    ctx.status = 201;
    ctx.body = streamJson(stream, deps.issuer, deps.config.ssfInactivityTimeoutSeconds);
  });

  // §8.1.1.2: one stream with stream_id, else all of this receiver's.
  router.get('/streams', noStore, read, async (ctx) => {
    const stream = await streamFromQuery(ctx, false);
    ctx.body = stream ? streamJson(stream, deps.issuer, deps.config.ssfInactivityTimeoutSeconds) : (await deps.store.streams.list(receiverOf(ctx))).map((s) => streamJson(s, deps.issuer, deps.config.ssfInactivityTimeoutSeconds));
  });

  // §8.1.1.3 update (PATCH: what is given) and §8.1.1.4 replace (PUT: the receiver-supplied properties anew).
  const change = (replace: boolean) => async (ctx: Context) => {
    const body = await readJsonObject(ctx);
    const stream = await streamFromBody(ctx, body);
    const settings = parseStreamSettings(body);
    const delivery = await checkedDelivery(deps, stream.id, settings.delivery);
    const changes = replace
      ? { eventsRequested: settings.eventsRequested ?? eventsSupported(deps.issuer), description: settings.description ?? null, delivery: delivery ?? { method: POLL_METHOD } }
      : { ...settings, delivery };
    await deps.store.streams.update(stream.id, changes, deps.clock.now());
    ctx.body = streamJson(ownStream(await deps.store.streams.find(stream.id), receiverOf(ctx)), deps.issuer, deps.config.ssfInactivityTimeoutSeconds);
  };
  router.patch('/streams', noStore, manage, change(false));
  router.put('/streams', noStore, manage, change(true));

  // §8.1.1.5: delete, with what it still owed.
  router.delete('/streams', noStore, manage, async (ctx) => {
    const stream = (await streamFromQuery(ctx, true))!;
    await deps.store.streams.delete(stream.id);
    deps.log.info('ssf: stream deleted', { stream_id: stream.id, client_id: stream.clientId });
    ctx.status = 204;
  });

  // §8.1.2.1 read and §8.1.2.2 update the status.
  router.get('/status', noStore, read, async (ctx) => {
    ctx.body = statusJson((await streamFromQuery(ctx, true))!);
  });
  router.post('/status', noStore, manage, async (ctx) => {
    const body = await readJsonObject(ctx);
    const stream = await streamFromBody(ctx, body);
    const status = parseStatus(body.status);
    const reason = body.reason === undefined ? null : requiredString(body, 'reason', 256);
    const updated = await setStreamStatus(deps.store, stream.id, status, reason, deps.clock.now(), receiverOf(ctx));
    ctx.body = statusJson(ownStream(updated, receiverOf(ctx)));
  });

  // §8.1.3.2 add and §8.1.3.3 remove a subject. Streams carry every subject by default: removing one stops
  // events about it; adding it back resumes them. The answers never say whether the subject exists.
  router.post('/subjects/add', noStore, manage, async (ctx) => {
    const body = await readJsonObject(ctx);
    const stream = await streamFromBody(ctx, body);
    const subject = parseSubject(body.subject, deps.issuer);
    if (body.verified !== undefined && typeof body.verified !== 'boolean') throw invalidRequest('verified must be a boolean');
    await deps.store.streams.includeSubject(stream.id, subject);
    ctx.status = 200;
    ctx.body = '';
  });
  router.post('/subjects/remove', noStore, manage, async (ctx) => {
    const body = await readJsonObject(ctx);
    const stream = await streamFromBody(ctx, body);
    const subject = parseSubject(body.subject, deps.issuer);
    if ((await deps.store.streams.countExcluded(stream.id)) >= MAX_REMOVED_SUBJECTS) throw invalidRequest(`A stream may have at most ${MAX_REMOVED_SUBJECTS} subjects removed`);
    await deps.store.streams.excludeSubject(stream.id, subject);
    ctx.status = 204;
  });

  // §8.1.4.2: a verification event with the receiver's state, delivered like any other.
  router.post('/verify', noStore, manage, async (ctx) => {
    const body = await readJsonObject(ctx);
    const stream = await streamFromBody(ctx, body);
    const state = body.state === undefined ? undefined : requiredString(body, 'state', 256);
    const now = deps.clock.now();
    await deps.store.transaction((tx) => tx.events.append(now, { type: 'verification', streamId: stream.id, detail: state === undefined ? null : { state } }));
    ctx.status = 204;
  });

  // RFC 8936 §2: poll, acknowledge, report errors; long polling unless returnImmediately.
  router.post('/poll/:streamId', noStore, read, async (ctx) => {
    const body = await readJsonObject(ctx);
    const request = parsePollRequest(body);
    const aborted = new AbortController();
    const onClose = () => aborted.abort();
    // The response's close before it is sent: the receiver went away, so stop waiting for it.
    ctx.res.once('close', onClose);
    try {
      ctx.body = await poll(deps, ctx.params.streamId!, receiverOf(ctx), request, aborted.signal);
    } finally {
      ctx.res.off('close', onClose);
    }
  });

  return router;
}
