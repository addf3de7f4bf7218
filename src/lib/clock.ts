/** Integer epoch seconds. Every time-dependent rule takes its `now` from a Clock so tests can move time. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = {
  now: () => Math.floor(Date.now() / 1000),
};

/** A clock for tests and tools: starts at `start` and moves only when told to. */
export class ManualClock implements Clock {
  constructor(private current: number = Math.floor(Date.now() / 1000)) {}
  now(): number {
    return this.current;
  }
  advance(seconds: number): void {
    this.current += seconds;
  }
  set(epochSeconds: number): void {
    this.current = epochSeconds;
  }
}
