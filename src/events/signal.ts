/**
 * The wake-up for whoever waits on the event outbox (a long poll): `wake()` after a transaction that wrote events
 * committed in this process, or when PostgreSQL delivers the NOTIFY of any instance's commit. Waiters also look
 * at the table every `pollIntervalMs`, which is how events written by another process on a SQLite file (the CLI)
 * are seen, and the fallback when the PostgreSQL listener is down.
 */
export class EventSignal {
  private waiters = new Set<() => void>();
  private listening: (() => void) | undefined;

  constructor(
    /** How often a waiter looks at the table without being woken. */
    public pollIntervalMs = 1000,
  ) {}

  /** Called once, at the first wait: how a PostgreSQL runtime starts LISTEN only where someone waits. */
  onFirstWait(start: () => void): void {
    this.listening = start;
  }

  /** Wakes every waiter now. */
  wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const resolve of waiters) resolve();
  }

  /** Resolves at the next wake(), after `pollIntervalMs` (or `maxMs`, if shorter), or when `abort` fires. */
  wait(maxMs: number, abort?: AbortSignal): Promise<void> {
    if (this.listening) {
      const start = this.listening;
      this.listening = undefined;
      start();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        abort?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, Math.min(maxMs, this.pollIntervalMs)));
      this.waiters.add(done);
      abort?.addEventListener('abort', done, { once: true });
    });
  }
}
