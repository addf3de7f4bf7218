/**
 * A signing key revoked by another process (`gatehouse keys revoke`, another instance) would reach this
 * instance's key ring only at its next refresh, up to KEY_RING_REFRESH_SECONDS later, and until then this
 * instance would still answer "active" for the key's tokens. The revocation writes a key-revoked event in its own
 * transaction (storage/events.ts); the outbox signal wakes here at the commit (PostgreSQL NOTIFY, or the table
 * poll on SQLite), and the ring is re-read at once. An API in event mode learns of the revocation from that same
 * event, so it no longer asks an issuer that has not learned of it yet.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, type Logger } from '../lib/log.js';
import type { Store } from '../storage/store.js';

/** The longest wait between two looks when nothing wakes the signal. */
const LOOK_EVERY_MS = 5000;
const RETRY_AFTER_ERROR_MS = 1000;

export class RevocationFollower {
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly reload: () => Promise<void>,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { events, eventSignal } = this.store;
    const abort = this.stopping.signal;
    let seen: number | undefined;
    while (!abort.aborted) {
      // Read before the look: a commit between the look and the wait ends the wait at once (see EventSignal).
      const generation = eventSignal.generation;
      try {
        const latest = await events.latestId();
        if (seen !== undefined && latest > seen && (await events.anyOfType('key_revoked', seen, latest))) await this.reload();
        seen = latest;
      } catch (error) {
        if (abort.aborted) break;
        this.log.warn('following key revocations failed; trying again', { error: describeError(error) });
        await sleep(RETRY_AFTER_ERROR_MS, undefined, { signal: abort }).catch(() => undefined);
        continue;
      }
      await eventSignal.wait(LOOK_EVERY_MS, abort, generation);
    }
  }
}
