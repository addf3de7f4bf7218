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
import type { Logger } from '../lib/log.js';
import type { IssuerMetadata } from './discovery.js';
import { IssuerMisconfigured, IssuerUnavailable } from './errors.js';
import { matches, type EventTokenCache, type Eviction } from './event-cache.js';
import { createIssuerHttp, type IssuerHttp } from './issuer-http.js';
import type { ResolvedOptions } from './options.js';
import { IssuerKeys, readEvent, verifySet, type ReceivedEvent, type SetError } from './security-events.js';
import { StreamGone, TransmitterApi, type SsfConfiguration, type Stream } from './transmitter-api.js';
import type { VerifiedToken } from './verified-token.js';

const MAX_RETRY_DELAY_MS = 30_000;
/** Epochs remembered with what they evicted; an introspection that spans more is simply not cached. */
const MAX_RECENT_EPOCHS = 1000;
/** Revoked signing keys remembered (keys are revoked rarely; the oldest is forgotten first). */
const MAX_REVOKED_KEYS = 1000;

export class EventReceiver {
  private epochValue = 0;
  /** What each recent epoch evicted, oldest first: `all` for a change of trust or an unknown event. */
  private recent: Array<{ epoch: number; evictions: readonly Eviction[] }> = [];
  /**
   * Keys a key-revoked event named. A token one of them signed is never cached again: the issuer's instances
   * learn of a revocation made elsewhere (`gatehouse keys revoke` is another process) only when they re-read their
   * key ring, every few seconds (docs/keys.md), and until then they still answer "active" for its tokens. Such an
   * answer, asked for after the event was applied, passes the epoch check, and cached it would be accepted until
   * the token's exp.
   */
  private readonly revokedKeys = new Set<string>();
  /** The last answer was processed, the stream is verified and enabled: the next poll may carry the trust. */
  private healthy = false;
  /** performance.now() after which the cache is not trusted, whatever else holds. */
  private trustedUntilMs = 0;
  private stopped = false;
  private running: Promise<void> | undefined;
  private configuration: SsfConfiguration | undefined;
  private keys: IssuerKeys | undefined;
  private stream: Stream | undefined;
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
  private readonly api: TransmitterApi;
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
    this.api = new TransmitterApi(settings, http, this.pollHttp, discover, this.stopping.signal);
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
    if (kid !== undefined && this.revokedKeys.has(kid)) return false;
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
    if (this.stream && this.configuration) await this.api.deleteStream(this.configuration, this.stream);
    this.pollHttp.close();
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
        if (error instanceof StreamGone) this.forgetStream();
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
    const configuration = (this.configuration ??= await this.api.readConfiguration());
    const stream = (this.stream ??= await this.openStream(configuration));
    if (!this.verified && (this.verificationState === undefined || performance.now() - this.verificationRequestedAt > this.pollTimeoutMs)) {
      this.verificationState = await this.api.requestVerification(configuration, stream);
      this.verificationRequestedAt = performance.now();
    }

    const startedAt = performance.now();
    if (this.healthy) {
      // An answer processed after the previous deadline: the trust lapsed in between, so start afresh.
      if (startedAt >= this.trustedUntilMs && this.trustedUntilMs !== 0) this.distrust('the previous long poll answered late');
      else this.trustedUntilMs = startedAt + this.pollTimeoutMs;
    }
    // Back from a failure on a verified stream: a short poll, so the trust returns at once rather than after an
    // idle long poll; from then on long polls again.
    const answer = await this.api.poll(stream, { returnImmediately: this.verified && !this.healthy, ack: this.acks, setErrs: this.setErrs });
    // The transmitter took them, in the same transaction as this answer: they are not sent again.
    this.acks = [];
    this.setErrs = {};
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
      const status = await this.api.readStatus(configuration, stream);
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

  private async openStream(configuration: SsfConfiguration): Promise<Stream> {
    const stream = await this.api.createStream(configuration);
    this.verified = false;
    this.verificationState = undefined;
    this.acks = [];
    this.setErrs = {};
    this.log.info('token issuer event stream opened', { issuer: this.settings.issuer, stream_id: stream.id });
    return stream;
  }

  private apply(event: ReceivedEvent): void {
    // Every event counts, so that an answer in flight across it is checked against what it evicted.
    this.bump(event.kind === 'evict' ? event.evictions : []);
    switch (event.kind) {
      case 'evict':
        for (const eviction of event.evictions) if (eviction.kind === 'key') this.rememberRevokedKey(eviction.kid);
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

  private rememberRevokedKey(kid: string): void {
    this.revokedKeys.add(kid);
    if (this.revokedKeys.size > MAX_REVOKED_KEYS) this.revokedKeys.delete(this.revokedKeys.values().next().value!);
  }

  /** The stream is gone: a new one, verified anew, at the next cycle. */
  private forgetStream(): void {
    this.stream = undefined;
    this.verified = false;
    this.verificationState = undefined;
    this.acks = [];
    this.setErrs = {};
  }
}
