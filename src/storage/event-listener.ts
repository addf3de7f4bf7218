/**
 * PostgreSQL LISTEN for the event outbox: one connection of its own per process (a pooled connection cannot
 * hold LISTEN), which wakes the EventSignal at every NOTIFY of this schema, i.e. at the COMMIT of any instance's
 * event. When the connection drops, waiters fall back to polling the table every second and the listener
 * reconnects after a pause; nothing is lost meanwhile, since readers follow the table, not the notifications.
 */
import pg from 'pg';
import type { EventSignal } from '../events/signal.js';
import { describeError, type Logger } from '../lib/log.js';
import { EVENT_CHANNEL } from './events.js';

/** Without LISTEN, how often waiters look at the table; with it, only a safety net. */
const POLL_MS_UNLISTENED = 1000;
const POLL_MS_LISTENING = 5000;
const RECONNECT_MS = 2000;

export class EventListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly connectionString: string,
    private readonly signal: EventSignal,
    private readonly log: Logger,
  ) {}

  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.connectionString, keepAlive: true });
    this.client = client;
    const lost = (error?: unknown) => {
      if (this.client !== client) return;
      this.client = undefined;
      this.signal.pollIntervalMs = POLL_MS_UNLISTENED;
      client.end().catch(() => {});
      if (this.stopped) return;
      if (error) this.log.warn('event listener: connection lost; polling the outbox until it is back', { error: describeError(error) });
      this.retry = setTimeout(() => void this.connect(), RECONNECT_MS);
      this.retry.unref();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      const { rows } = await client.query<{ schema: string }>('SELECT current_schema() AS schema');
      const schema = rows[0]?.schema;
      client.on('notification', (message) => {
        if (message.channel === EVENT_CHANNEL && message.payload === schema) this.signal.wake();
      });
      await client.query(`LISTEN ${EVENT_CHANNEL}`);
      if (this.client !== client) return;
      this.signal.pollIntervalMs = POLL_MS_LISTENING;
      // Whatever committed while nobody listened is read now.
      this.signal.wake();
    } catch (error) {
      lost(error);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}
