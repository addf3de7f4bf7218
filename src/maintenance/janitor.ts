/**
 * The janitor deletes what can no longer matter: revocations of expired tokens, refresh tokens a day past
 * their expiry (rotated ones are kept until then, so a late replay is still recognised as reuse), sessions and
 * login sessions a day after they ended or expired, authorization codes a day after they expired (a used code
 * is kept until then, so that its second use is still recognised), pending login forms as soon as they expire,
 * brute-force counters idle for 30 days, audit events after 90 days, and outbox events after
 * GATEHOUSE_EVENT_RETENTION_SECONDS (with the Shared Signals deliveries still waiting for them). Shared Signals
 * streams nobody polled for GATEHOUSE_SSF_INACTIVITY_TIMEOUT_SECONDS are disabled, and deleted after twice that. Small batches with a pause between
 * them keep every statement short, so the server goes on answering while a large backlog is cleaned; deletes
 * are idempotent, so every instance may run it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../lib/clock.js';
import { describeError, type Logger } from '../lib/log.js';
import { setStreamStatus } from '../ssf/control.js';
import type { Store } from '../storage/store.js';
import { INACTIVE } from '../storage/streams.js';

/** How long finished sessions and expired refresh tokens are kept (sessions list, reuse detection, support). */
export const RETENTION_SECONDS = 86_400;
/** Brute-force counters (and trusted addresses) idle this long are forgotten. */
const THROTTLE_RETENTION_SECONDS = 30 * 86_400;
/** How long the audit trail is kept. */
export const AUDIT_RETENTION_SECONDS = 90 * 86_400;
/** How long outbox events are kept unless configured (GATEHOUSE_EVENT_RETENTION_SECONDS). */
export const EVENT_RETENTION_SECONDS = 7 * 86_400;
/** How long a stream may go unpolled before it is disabled, unless configured (GATEHOUSE_SSF_INACTIVITY_TIMEOUT_SECONDS). */
export const SSF_INACTIVITY_TIMEOUT_SECONDS = 86_400;

export interface JanitorOptions {
  batchSize?: number;
  /** Pause between batches, so requests get the database in between. */
  pauseMs?: number;
  /** Outbox events older than this are deleted. */
  eventRetentionSeconds?: number;
  /** Streams not polled for this long are disabled; for twice as long, deleted. */
  ssfInactivityTimeoutSeconds?: number;
}

export interface JanitorReport {
  revocations: number;
  refreshTokens: number;
  sessions: number;
  loginSessions: number;
  authorizationRequests: number;
  authorizationCodes: number;
  throttleCounters: number;
  auditEvents: number;
  events: number;
  streamsDisabled: number;
  streamsDeleted: number;
}

/**
 * SSF 1.0 §8.1.1 inactivity_timeout: the streams of receivers that went away (an autoscaled API instance) are
 * disabled, the way `streams disable` does it (reason `inactive`), and deleted after another timeout unless
 * their receiver came back and enabled them. Streams disabled by their receiver or an operator stay.
 */
async function inactiveStreams(store: Store, now: number, timeoutSeconds: number, batchSize: number): Promise<{ streamsDisabled: number; streamsDeleted: number }> {
  let streamsDisabled = 0;
  for (const id of await store.streams.listInactive(now - timeoutSeconds)) {
    if (await setStreamStatus(store, id, 'disabled', INACTIVE, now)) streamsDisabled++;
  }
  const streamsDeleted = await drain((limit) => store.streams.deleteAbandoned(now - timeoutSeconds, limit), batchSize, 0);
  return { streamsDisabled, streamsDeleted };
}

async function drain(deleteBatch: (limit: number) => Promise<number>, batchSize: number, pauseMs: number): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await deleteBatch(batchSize);
    total += deleted;
    if (deleted < batchSize) return total;
    await sleep(pauseMs);
  }
}

export async function runJanitor(store: Store, clock: Clock, options: JanitorOptions = {}): Promise<JanitorReport> {
  const batchSize = options.batchSize ?? 1000;
  const pauseMs = options.pauseMs ?? 5;
  const now = clock.now();
  const before = now - RETENTION_SECONDS;
  return {
    revocations: await drain((limit) => store.janitor.deleteExpiredRevocations(now, limit), batchSize, pauseMs),
    refreshTokens: await drain((limit) => store.janitor.deleteExpiredRefreshTokens(before, limit), batchSize, pauseMs),
    sessions: await drain((limit) => store.janitor.deleteFinishedSessions(before, limit), batchSize, pauseMs),
    loginSessions: await drain((limit) => store.janitor.deleteFinishedLoginSessions(before, limit), batchSize, pauseMs),
    authorizationRequests: await drain((limit) => store.janitor.deleteExpiredAuthorizationRequests(now, limit), batchSize, pauseMs),
    authorizationCodes: await drain((limit) => store.janitor.deleteExpiredAuthorizationCodes(before, limit), batchSize, pauseMs),
    throttleCounters: await drain((limit) => store.throttle.deleteIdle(now - THROTTLE_RETENTION_SECONDS, limit), batchSize, pauseMs),
    auditEvents: await drain((limit) => store.audit.deleteOlderThan(now - AUDIT_RETENTION_SECONDS, limit), batchSize, pauseMs),
    events: await drain((limit) => store.events.deleteOlderThan(now - (options.eventRetentionSeconds ?? EVENT_RETENTION_SECONDS), limit), batchSize, pauseMs),
    ...(await inactiveStreams(store, now, options.ssfInactivityTimeoutSeconds ?? SSF_INACTIVITY_TIMEOUT_SECONDS, batchSize)),
  };
}

/** Runs the janitor every `intervalSeconds` (with jitter, so instances spread out) until stop(). */
export class Janitor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: JanitorOptions = {},
  ) {}

  start(intervalSeconds: number): void {
    if (intervalSeconds <= 0) return;
    const schedule = () => {
      const delayMs = intervalSeconds * 1000 * (0.75 + Math.random() * 0.5);
      this.timer = setTimeout(() => {
        this.running = this.runOnce().finally(() => {
          this.running = undefined;
          if (this.timer !== undefined) schedule();
        });
      }, delayMs);
      this.timer.unref();
    };
    schedule();
  }

  async runOnce(): Promise<void> {
    try {
      const report = await runJanitor(this.store, this.clock, this.options);
      if (Object.values(report).some((count) => count > 0)) this.log.info('janitor deleted expired rows', { ...report });
    } catch (error) {
      this.log.warn('janitor run failed; it retries at the next interval', { error: describeError(error) });
    }
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
