/**
 * The wake-up for whoever waits on the event outbox (a long poll): `wake()` after a transaction that wrote events
 * committed in this process, or when PostgreSQL delivers the NOTIFY of any instance's commit. Waiters also look
 * at the table every `pollIntervalMs`, which is how events written by another process on a SQLite file (the CLI)
 * are seen, and the fallback when the PostgreSQL listener is down.
 */
export class EventSignal {
  private waiters = new Set<() => void>();
  private wakes = 0;
  private listening: (() => void) | undefined;

  constructor(
    /** How often a waiter looks at the table without being woken. */
    public pollIntervalMs = 1000,
  ) {}

  /** Called once, at the first wait: how a PostgreSQL runtime starts LISTEN only where someone waits. */
  onFirstWait(start: () => void): void {
    this.listening = start;
  }

  /**
   * Counts the wakes. Read it before looking at the table and pass it to wait(): a wake that came between the
   * look and the wait (a commit, a NOTIFY) then ends the wait at once instead of being lost until the next
   * look on the timer (up to 5 s while PostgreSQL LISTEN is up).
   */
  get generation(): number {
    return this.wakes;
  }

  /** Wakes every waiter now. */
  wake(): void {
    this.wakes++;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const resolve of waiters) resolve();
  }

  /**
   * Resolves at the next wake(), after `pollIntervalMs` (or `maxMs`, if shorter), or when `abort` fires; at once
   * when `seen` (a `generation` read earlier) is already past.
   */
  wait(maxMs: number, abort?: AbortSignal, seen?: number): Promise<void> {
    if (this.listening) {
      const start = this.listening;
      this.listening = undefined;
      start();
    }
    if (seen !== undefined && seen !== this.wakes) return Promise.resolve();
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
