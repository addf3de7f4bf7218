/**
 * Event mode's receiver (OpenID SSF 1.0, RFC 8936 poll delivery): one stream of this API instance's own at the
 * issuer, long polled without pause; every SET verified, applied to the cache, acknowledged (or reported in
 * setErrs). It decides when the cache may be trusted:
 *
 * - only after a verification event it asked for on this stream came back (SSF 1.0 §8.1.4.2), so the stream
 *   provably delivers;
 * - only while a long poll is in flight that started after the previous answer was processed, and for at most
 *   pollWaitSeconds + pollMarginSeconds from its start: an event committed while that poll waits wakes it (the
 *   transmitter answers as soon as its stream owes something), and one committed before its start was sorted in
 *   by it. A poll that fails, or does not answer within that bound, ends the trust;
 * - never while the stream is paused, disabled or gone (an answer without SETs is followed by a status check,
 *   because a disabled stream answers at once and says nothing).
 *
 * Every change of trust and every event bumps `epoch`, remembering what it evicted: an introspection answer is
 * cached only when nothing since the epoch read before it was sent would have evicted it (an event that arrived
 * meanwhile may have ended the very token after the issuer answered), and the trust did not change.
 */
import { randomToken } from '../lib/crypto.js';
import type { Logger } from '../lib/log.js';
import type { IssuerMetadata } from './discovery.js';
import { IssuerMisconfigured, IssuerUnavailable } from './errors.js';
import { matches, type EventTokenCache, type Eviction } from './event-cache.js';
import type { VerifiedToken } from './verified-token.js';
import { basicAuthorization } from './introspect.js';
import { createIssuerHttp, type IssuerHttp, type IssuerReply } from './issuer-http.js';
import type { ResolvedOptions } from './options.js';
import { IssuerKeys, readEvent, verifySet, type ReceivedEvent, type SetError } from './security-events.js';

const POLL_METHOD = 'urn:ietf:rfc:8936';
/** SETs per poll answer: ~1 KB each, well inside what the HTTP client reads. */
const MAX_EVENTS = 25;
const MAX_RETRY_DELAY_MS = 30_000;
/** Epochs remembered with what they evicted; an introspection that spans more is simply not cached. */
const MAX_RECENT_EPOCHS = 1000;

interface SsfConfiguration {
  configurationEndpoint: string;
  statusEndpoint: string;
  verificationEndpoint: string;
  jwksUri: string;
}

interface Stream {
  id: string;
  pollUrl: string;
}

/** RFC 8414 §3.1 placement, which SSF 1.0 §7.2 follows: the well-known segment before the issuer's path. */
export function ssfConfigurationUrl(issuer: string): string {
  const url = new URL(issuer);
  return `${url.origin}/.well-known/ssf-configuration${url.pathname === '/' ? '' : url.pathname}`;
}

function parseJson(reply: IssuerReply, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(reply.body);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // below
  }
  throw new IssuerMisconfigured(`${what} is not a JSON object`);
}

/** 5xx and 429 are the issuer's trouble; anything else unexpected is this API's configuration. */
function unexpected(reply: IssuerReply, what: string): Error {
  if (reply.status >= 500 || reply.status === 429) return new IssuerUnavailable(`${what} answered ${reply.status}`);
  return new IssuerMisconfigured(`${what} answered ${reply.status}`);
}

export class EventReceiver {
  private epochValue = 0;
  /** What each recent epoch evicted, oldest first: `all` for a change of trust or an unknown event. */
  private recent: Array<{ epoch: number; evictions: readonly Eviction[] }> = [];
  /** The last answer was processed, the stream is verified and enabled: the next poll may carry the trust. */
  private healthy = false;
  /** performance.now() after which the cache is not trusted, whatever else holds. */
  private trustedUntilMs = 0;
  private stopped = false;
  private running: Promise<void> | undefined;
  private configuration: SsfConfiguration | undefined;
  private keys: IssuerKeys | undefined;
  private stream: Stream | undefined;
  private token: string | undefined;
  /** performance.now() from which the token is renewed before it is used: a minute before its expires_in ends. */
  private renewTokenAtMs = 0;
  private verified = false;
  private verificationState: string | undefined;
  private verificationRequestedAt = 0;
  private acks: string[] = [];
  private setErrs: Record<string, SetError> = {};
  private failures = 0;
  private cancelSleep: (() => void) | undefined;
  /** Fires at stop(): ends the long poll in flight. */
  private readonly stopping = new AbortController();
  private readonly pollHttp: IssuerHttp;
  private readonly pollTimeoutMs: number;
  private readonly events: NonNullable<ResolvedOptions['events']>;

  constructor(
    private readonly settings: ResolvedOptions,
    private readonly http: IssuerHttp,
    private readonly discover: () => Promise<IssuerMetadata>,
    private readonly cache: EventTokenCache,
    private readonly log: Logger,
  ) {
    this.events = settings.events!;
    this.pollTimeoutMs = (this.events.pollWaitSeconds + this.events.pollMarginSeconds) * 1000;
    // Its own connection, with a deadline of the long poll's bound rather than the introspection deadline.
    this.pollHttp = createIssuerHttp({ timeoutMs: this.pollTimeoutMs, maxSockets: 1 });
  }

  /** Changes with every event and every change of trust. */
  get epoch(): number {
    return this.epochValue;
  }

  /**
   * Whether an introspection answer asked for at `since` (an epoch) may be cached now: the stream is current and
   * nothing that happened since would have evicted this token. Any change of trust since forbids it.
   */
  mayCache(since: number, token: VerifiedToken, kid: string | undefined): boolean {
    if (!this.trusted()) return false;
    if (since === this.epochValue) return true;
    const first = this.recent[0];
    if (!first || first.epoch > since + 1) return false;
    return this.recent.every((record) => record.epoch <= since || !record.evictions.some((eviction) => matches({ token, kid }, eviction)));
  }

  private bump(evictions: readonly Eviction[]): void {
    this.epochValue++;
    this.recent.push({ epoch: this.epochValue, evictions });
    if (this.recent.length > MAX_RECENT_EPOCHS) this.recent.shift();
  }

  /** Whether the cache may answer now. */
  trusted(): boolean {
    return this.healthy && performance.now() < this.trustedUntilMs;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Stops polling and deletes the stream (best effort: an instance that vanishes leaves it to the issuer's inactivity timeout). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.distrust(undefined);
    this.stopping.abort();
    this.cancelSleep?.();
    await this.running;
    this.pollHttp.close();
    const stream = this.stream;
    const configuration = this.configuration;
    if (stream && configuration && this.token) {
      const url = `${configuration.configurationEndpoint}?${new URLSearchParams({ stream_id: stream.id })}`;
      await this.http.send(url, { method: 'DELETE', headers: { authorization: `Bearer ${this.token}` } }).catch(() => undefined);
    }
  }

  private distrust(reason: string | undefined): void {
    if (reason !== undefined && (this.healthy || this.cache.size > 0)) {
      this.log.warn('token issuer event stream not current: introspecting every request', { issuer: this.settings.issuer, reason });
    }
    this.healthy = false;
    this.trustedUntilMs = 0;
    this.bump([{ kind: 'all' }]);
    this.cache.clear();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.cycle();
      } catch (error) {
        if (this.stopped) break;
        const reason = error instanceof Error ? error.message : String(error);
        this.distrust(reason);
        if (error instanceof IssuerMisconfigured) this.log.error('token issuer refused this event receiver', { issuer: this.settings.issuer, client_id: this.events.clientId, reason });
        this.failures++;
        await this.sleep(Math.min(this.events.retryDelayMs * 2 ** (this.failures - 1), MAX_RETRY_DELAY_MS));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.cancelSleep = done;
    });
  }

  /** One long poll and what follows from it. */
  private async cycle(): Promise<void> {
    const configuration = (this.configuration ??= await this.readConfiguration());
    const stream = (this.stream ??= await this.createStream(configuration));
    if (!this.verified && (this.verificationState === undefined || performance.now() - this.verificationRequestedAt > this.pollTimeoutMs)) {
      await this.requestVerification(configuration, stream);
    }

    const startedAt = performance.now();
    if (this.healthy) {
      // An answer processed after the previous deadline: the trust lapsed in between, so start afresh.
      if (startedAt >= this.trustedUntilMs && this.trustedUntilMs !== 0) this.distrust('the previous long poll answered late');
      else this.trustedUntilMs = startedAt + this.pollTimeoutMs;
    }
    // Back from a failure on a verified stream: a short poll, so the trust returns at once rather than after an
    // idle long poll; from then on long polls again.
    const answer = await this.poll(stream, this.verified && !this.healthy);
    const sets = answer.sets;
    if (typeof sets !== 'object' || sets === null || Array.isArray(sets)) throw new IssuerMisconfigured('poll answer has no sets object');

    const refetch = { done: false };
    this.keys ??= new IssuerKeys(this.http, configuration.jwksUri);
    for (const [jti, set] of Object.entries(sets as Record<string, unknown>)) {
      if (typeof set !== 'string') {
        this.setErrs[jti] = { err: 'invalid_request', description: 'not a compact JWS' };
        continue;
      }
      // A JWKS that cannot be read throws: the SET is then neither acknowledged nor refused, and comes again.
      const result = await verifySet(set, this.keys, { issuer: this.settings.issuer, audience: this.events.clientId, jti }, refetch);
      if ('error' in result) {
        this.log.warn('token issuer event stream delivered a SET that does not verify', { issuer: this.settings.issuer, err: result.error.err });
        this.setErrs[jti] = result.error;
        continue;
      }
      this.apply(readEvent(result.payload, this.settings.issuer));
      this.acks.push(jti);
    }

    if (Object.keys(sets).length === 0) {
      // A paused or disabled stream answers a long poll at once, with nothing: look before trusting the silence.
      const status = await this.readStatus(configuration, stream);
      if (status !== 'enabled') {
        this.verified = false;
        this.verificationState = undefined;
        throw new IssuerUnavailable(`the stream is ${status}`);
      }
    }
    this.failures = 0;
    if (this.verified && !this.healthy) this.bump([{ kind: 'all' }]);
    this.healthy = this.verified;
  }

  private apply(event: ReceivedEvent): void {
    // Every event counts, so that an answer in flight across it is checked against what it evicted.
    this.bump(event.kind === 'evict' ? event.evictions : []);
    switch (event.kind) {
      case 'evict':
        this.cache.evict(event.evictions);
        return;
      case 'verification':
        if (event.state !== undefined && event.state === this.verificationState) {
          this.verified = true;
          this.verificationState = undefined;
        }
        return;
      case 'stream-updated':
        if (event.status !== 'enabled') {
          this.verified = false;
          this.verificationState = undefined;
          this.distrust(`the stream is ${event.status}`);
        }
        return;
      case 'none':
        return;
    }
  }

  private async readConfiguration(): Promise<SsfConfiguration> {
    const reply = await this.http.send(ssfConfigurationUrl(this.settings.issuer), { method: 'GET', headers: { accept: 'application/json' } });
    if (reply.status !== 200) throw unexpected(reply, 'ssf-configuration');
    const json = parseJson(reply, 'ssf-configuration');
    // SSF 1.0 §7.1: the issuer of the configuration is the transmitter's; it must be the one this API trusts.
    if (json.issuer !== this.settings.issuer) throw new IssuerMisconfigured('ssf-configuration names another issuer');
    const url = (name: string): string => {
      const value = json[name];
      if (typeof value !== 'string' || !URL.canParse(value)) throw new IssuerMisconfigured(`ssf-configuration has no ${name}`);
      return value;
    };
    const methods = json.delivery_methods_supported;
    if (!Array.isArray(methods) || !methods.includes(POLL_METHOD)) throw new IssuerMisconfigured('the transmitter offers no poll delivery');
    return {
      configurationEndpoint: url('configuration_endpoint'),
      statusEndpoint: url('status_endpoint'),
      verificationEndpoint: url('verification_endpoint'),
      jwksUri: url('jwks_uri'),
    };
  }

  /** A client_credentials token of the receiver client, with the scopes of the SSF API. */
  private async receiverToken(): Promise<string> {
    if (this.token && performance.now() < this.renewTokenAtMs) return this.token;
    const { tokenEndpoint } = await this.discover();
    if (!tokenEndpoint) throw new IssuerMisconfigured('metadata has no token_endpoint');
    const reply = await this.http.send(tokenEndpoint, {
      method: 'POST',
      headers: {
        authorization: basicAuthorization(this.events),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'ssf.manage ssf.read' }).toString(),
    });
    if (reply.status !== 200) throw unexpected(reply, 'the receiver token request');
    const answer = parseJson(reply, 'the token answer');
    const token = answer.access_token;
    if (typeof token !== 'string' || token === '') throw new IssuerMisconfigured('the token answer has no access_token');
    // Renewed ahead of its end, so that a poll rarely meets a 401 (which would drop the cache once).
    const expiresInSeconds = typeof answer.expires_in === 'number' && answer.expires_in > 0 ? answer.expires_in : 300;
    this.renewTokenAtMs = performance.now() + Math.max(expiresInSeconds - 60, expiresInSeconds / 2) * 1000;
    return (this.token = token);
  }

  /** A call of the SSF API; a 401 (the token expired) forgets the token, and the next cycle gets a new one. */
  private async call(http: IssuerHttp, url: string, method: 'GET' | 'POST', body?: unknown): Promise<IssuerReply> {
    const token = await this.receiverToken();
    const reply = await http.send(url, {
      method,
      signal: this.stopping.signal,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (reply.status === 401) {
      this.token = undefined;
      throw new IssuerUnavailable('the SSF API refused the receiver token');
    }
    return reply;
  }

  private async createStream(configuration: SsfConfiguration): Promise<Stream> {
    const reply = await this.call(this.http, configuration.configurationEndpoint, 'POST', {
      delivery: { method: POLL_METHOD },
      description: `gatehouse/resource-server for ${this.settings.audience}`,
    });
    if (reply.status !== 201) throw unexpected(reply, 'creating the stream');
    const json = parseJson(reply, 'the stream');
    const delivery = json.delivery as { method?: unknown; endpoint_url?: unknown } | undefined;
    if (typeof json.stream_id !== 'string' || delivery?.method !== POLL_METHOD || typeof delivery.endpoint_url !== 'string' || !URL.canParse(delivery.endpoint_url)) {
      throw new IssuerMisconfigured('the stream has no poll endpoint');
    }
    this.verified = false;
    this.verificationState = undefined;
    this.acks = [];
    this.setErrs = {};
    this.log.info('token issuer event stream opened', { issuer: this.settings.issuer, stream_id: json.stream_id });
    return { id: json.stream_id, pollUrl: delivery.endpoint_url };
  }

  private async requestVerification(configuration: SsfConfiguration, stream: Stream): Promise<void> {
    const state = randomToken(16);
    const reply = await this.call(this.http, configuration.verificationEndpoint, 'POST', { stream_id: stream.id, state });
    if (reply.status === 404) return this.streamGone();
    if (reply.status !== 204 && reply.status !== 200) throw unexpected(reply, 'the verification request');
    this.verificationState = state;
    this.verificationRequestedAt = performance.now();
  }

  private async readStatus(configuration: SsfConfiguration, stream: Stream): Promise<string> {
    const reply = await this.call(this.http, `${configuration.statusEndpoint}?${new URLSearchParams({ stream_id: stream.id })}`, 'GET');
    if (reply.status === 404) return this.streamGone();
    if (reply.status !== 200) throw unexpected(reply, 'the stream status');
    const status = parseJson(reply, 'the stream status').status;
    return typeof status === 'string' ? status : 'unknown';
  }

  /** RFC 8936 §2: acknowledgements and error reports of the previous answer go with the next request. */
  private async poll(stream: Stream, returnImmediately: boolean): Promise<Record<string, unknown>> {
    const acks = this.acks;
    const setErrs = this.setErrs;
    const reply = await this.call(this.pollHttp, stream.pollUrl, 'POST', {
      maxEvents: MAX_EVENTS,
      returnImmediately,
      ...(acks.length > 0 ? { ack: acks } : {}),
      ...(Object.keys(setErrs).length > 0 ? { setErrs } : {}),
    });
    if (reply.status === 404) return this.streamGone();
    if (reply.status !== 200) throw unexpected(reply, 'the poll');
    const json = parseJson(reply, 'the poll answer');
    // The transmitter took them, in the same transaction as this answer: they are not sent again.
    this.acks = [];
    this.setErrs = {};
    return json;
  }

  /** Deleted (by the issuer's inactivity janitor, or anyone): a new stream, verified anew, at the next cycle. */
  private streamGone(): never {
    this.stream = undefined;
    this.verified = false;
    this.verificationState = undefined;
    this.acks = [];
    this.setErrs = {};
    throw new IssuerUnavailable('the stream no longer exists');
  }
}
