/**
 * The push delivery worker (RFC 8935): one per issuer process. It leases push streams that have work (the lease
 * is a row in the database, claimed in a transaction with FOR UPDATE SKIP LOCKED on PostgreSQL), so however
 * many instances or GATEHOUSE_WORKERS share the database, one worker at a time pushes a given stream and a SET is
 * never pushed by two at once. Each stream's SETs go out in order, one at a time; streams go out side by side
 * (at most `concurrency` at once), so a slow or dead receiver delays only its own stream, and no HTTP request of
 * the issuer ever waits on a push.
 *
 * Outcomes (RFC 8935 §2.2, §2.3): 202 → delivered, forgotten. 400 with the error JSON → rejected: recorded on
 * the SET, not retried, the next SET goes. Anything else (another status, a refused connection, a timeout) →
 * retried after an exponential backoff with jitter (`backoffDelayMs`), the stream's later SETs waiting behind
 * it; after `maxAttempts` failures the SET is dead-lettered (kept, counted in `gatehouse streams show`) and the
 * next one goes.
 *
 * Woken by the outbox signal (a commit in this process, PostgreSQL NOTIFY from any other, or the signal's
 * one-second look at the table), and by a timer at the next retry.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeySecretError } from '../keys/encryption.js';
import type { KeyManager } from '../keys/key-manager.js';
import type { Clock } from '../lib/clock.js';
import { describeError, type Logger } from '../lib/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { AttemptOutcome } from '../storage/push.js';
import type { Store } from '../storage/store.js';
import { PUSH_METHOD } from '../storage/streams.js';
import { setClaims } from './event-types.js';
import { sortIntoStream } from './fan-out.js';
import { openAuthorization, sealStoredAuthorizations } from './push-authorization.js';
import { pushSet, type PushResult } from './push-http.js';
import { pushUrlPolicy, type PushUrlPolicy } from './push-url.js';
import { signSet } from './sign.js';

export interface PushOptions {
  /** Failed attempts after which a SET is dead-lettered. */
  maxAttempts: number;
  /** The first retry waits about this long; each further one twice as long… */
  backoffBaseMs: number;
  /** …up to this. */
  backoffMaxMs: number;
  /** The longest one POST may take, connection included. */
  timeoutMs: number;
  /** Streams pushed at once by this process. */
  concurrency?: number;
  /** Epoch milliseconds (tests may inject). */
  nowMs?: () => number;
  /** In [0, 1) (tests may inject). */
  random?: () => number;
}

export interface PushDeps {
  issuer: string;
  store: Store;
  keys: KeyManager;
  clock: Clock;
  log: Logger;
  metrics?: Metrics;
}

/**
 * The wait before retry `attempt` (1 = after the first failure): base·2^(attempt−1), capped at max, of which a
 * random half is taken off ("equal jitter"), so receivers coming back are not hit by every stream at once.
 */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: number): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(exponential / 2 + (exponential / 2) * random);
}

/** The longest the worker waits before it looks at the table on its own (and how often, with no push stream). */
const IDLE_WAIT_MS = 1000;

export class PushWorker {
  private readonly owner = randomUUID();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly policy: PushUrlPolicy;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly nowMs: () => number;
  private readonly random: () => number;
  private taskFinished: (() => void) | undefined;

  constructor(
    private readonly deps: PushDeps,
    private readonly options: PushOptions,
  ) {
    this.policy = pushUrlPolicy(deps.issuer);
    this.concurrency = options.concurrency ?? 16;
    // Renewed before each POST, and longer than one POST may take: a live worker never loses its stream.
    this.leaseMs = options.timeoutMs * 2 + 5000;
    this.nowMs = options.nowMs ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops claiming, aborts the POSTs in flight (their SETs stay pending, attempts unchanged), releases the leases. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.taskFinished?.();
    await this.loop;
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private async run(): Promise<void> {
    const { store, log } = this.deps;
    // Headers stored in the clear before migration 010 are sealed before anything is pushed.
    await sealStoredAuthorizations(store.streams, this.deps.keys.encryption, { reseal: false }).then(
      (sealed) => sealed > 0 && log.info(`ssf push: sealed ${sealed} stored authorization header(s) under the key secret`),
      (error: unknown) => log.warn('ssf push: sealing stored authorization headers failed', { error: describeError(error) }),
    );
    while (!this.stopping.signal.aborted) {
      let waitMs = IDLE_WAIT_MS;
      // Before the look at the outbox: a wake during the look ends the wait below at once (see EventSignal).
      const seen = store.eventSignal.generation;
      // With no push stream at all, the worker only looks now and then, and never starts the PostgreSQL
      // LISTEN connection (it opens where somebody waits on the signal).
      let idle = false;
      try {
        idle = this.inFlight.size === 0 && !(await store.push.any());
        const free = this.concurrency - this.inFlight.size;
        if (!idle && free > 0) {
          const latest = await store.events.latestId();
          const ids = await store.push.claim(this.owner, this.nowMs(), this.leaseMs, latest, free, [...this.inFlight.keys()]);
          for (const id of ids) {
            const task = this.deliverStream(id)
              .catch((error: unknown) => log.warn('ssf push: delivery run failed; retried', { stream_id: id, error: describeError(error) }))
              .finally(() => {
                this.inFlight.delete(id);
                this.taskFinished?.();
              });
            this.inFlight.set(id, task);
          }
        }
        const retryAt = await store.push.nextRetryAt();
        if (retryAt !== null) waitMs = Math.max(0, Math.min(waitMs, retryAt - this.nowMs()));
      } catch (error) {
        if (this.stopping.signal.aborted) break;
        log.warn('ssf push: claiming streams failed; trying again', { error: describeError(error) });
      }
      if (this.stopping.signal.aborted) break;
      if (idle) {
        await sleep(IDLE_WAIT_MS, undefined, { signal: this.stopping.signal }).catch(() => undefined);
        continue;
      }
      const finished = new Promise<void>((resolve) => (this.taskFinished = resolve));
      await Promise.race([store.eventSignal.wait(waitMs, this.stopping.signal, seen), finished]);
      this.taskFinished = undefined;
    }
  }

  /**
   * The receiver's Authorization header, opened. One the key secrets cannot open (a secret dropped from
   * GATEHOUSE_KEY_SECRETS before `keys reencrypt` re-sealed it) fails the attempt like an unreachable receiver:
   * retried with backoff, then dead-lettered and shown by `gatehouse streams show`; never sent without it.
   */
  private authorizationOf(streamId: string, sealed: string | null): string | null | PushResult {
    if (sealed === null) return null;
    try {
      return openAuthorization(this.deps.keys.encryption, streamId, sealed);
    } catch (error) {
      if (error instanceof KeySecretError) return { kind: 'failed', reason: error.message };
      throw error;
    }
  }

  /** Pushes one leased stream's due SETs in order, until none is left, one fails, or the worker stops. */
  private async deliverStream(streamId: string): Promise<void> {
    const { store, issuer, clock, keys, log, metrics } = this.deps;
    try {
      // New outbox events first, in one transaction with the stream row (locked on PostgreSQL, as a poll does).
      const sorted = await store.transaction(async (tx) => {
        const stream = await tx.streams.find(streamId, true);
        if (!stream || stream.delivery.method !== PUSH_METHOD || stream.status !== 'enabled') return false;
        await sortIntoStream(tx, issuer, stream, clock.now());
        return true;
      });
      if (!sorted) return;
      while (!this.stopping.signal.aborted) {
        if (!(await store.push.renew(streamId, this.owner, this.nowMs(), this.leaseMs))) return;
        const stream = await store.streams.find(streamId);
        if (!stream || stream.delivery.method !== PUSH_METHOD || stream.status !== 'enabled') return;
        // The head SET waits out its backoff; the ones behind it wait for it (order is kept).
        if (stream.push.retryAt !== null && stream.push.retryAt > this.nowMs()) return;
        const head = await store.push.head(streamId);
        if (!head) return;
        const set = signSet(keys.signingKey(), setClaims(issuer, head.event, stream, clock.now()));
        const authorization = this.authorizationOf(streamId, stream.delivery.sealedAuthorization);
        const result =
          typeof authorization === 'object' && authorization !== null
            ? authorization
            : await pushSet(stream.delivery.endpointUrl, set, authorization, this.policy, this.options.timeoutMs, this.stopping.signal);
        if (this.stopping.signal.aborted) return; // not an attempt: the SET stays as it was
        const now = this.nowMs();
        let outcome: AttemptOutcome;
        if (result.kind === 'accepted') outcome = { kind: 'delivered' };
        else if (result.kind === 'rejected') outcome = { kind: 'rejected', error: `rejected: ${result.err}${result.description ? ` (${result.description})` : ''}` };
        else if (head.attempts + 1 >= this.options.maxAttempts) outcome = { kind: 'dead', error: `${result.reason}; gave up after ${head.attempts + 1} attempts` };
        else {
          const retryAt = now + backoffDelayMs(head.attempts + 1, this.options.backoffBaseMs, this.options.backoffMaxMs, this.random());
          outcome = { kind: 'failed', error: result.reason, retryAt };
        }
        if (!(await store.push.record(streamId, head.event.id, this.owner, now, outcome))) return;
        metrics?.pushDelivery(outcome.kind);
        if (outcome.kind === 'rejected') log.warn('ssf push: the receiver rejected a SET', { stream_id: streamId, event_id: head.event.id, error: outcome.error });
        if (outcome.kind === 'dead') log.warn('ssf push: SET dead-lettered', { stream_id: streamId, event_id: head.event.id, error: outcome.error });
        if (outcome.kind === 'failed') {
          log.info('ssf push: delivery failed; will retry', { stream_id: streamId, event_id: head.event.id, attempt: head.attempts + 1, error: outcome.error });
          return;
        }
      }
    } finally {
      await store.push.release(streamId, this.owner).catch(() => undefined);
    }
  }
}
