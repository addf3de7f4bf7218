/**
 * Opening what the server and the CLI share: the database (migrated), the store, and on demand the key manager.
 */
import type { Config } from './config.js';
import { KeyEncryption } from './keys/encryption.js';
import { KeyManager, type KeyRing } from './keys/key-manager.js';
import type { ScheduleSettings } from './keys/schedule.js';
import { resolveKeySecrets } from './keys/secret-file.js';
import type { Clock } from './lib/clock.js';
import { silentLogger, type Logger } from './lib/log.js';
import { Metrics } from './observability/metrics.js';
import type { PasswordHasher } from './passwords/argon2.js';
import { Throttle } from './security/throttle.js';
import { throttleSettings } from './security/throttle-policy.js';
import { createDatabase, migrate, openHotReads, type Database } from './storage/database.js';
import { EventListener } from './storage/event-listener.js';
import { Store } from './storage/store.js';

export interface Runtime {
  db: Database;
  store: Store;
  close(): Promise<void>;
}

export async function openRuntime(config: Config, log?: Logger): Promise<Runtime> {
  const db = createDatabase(config.database, log);
  try {
    await migrate(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const hot = openHotReads(config.database, db);
  const store = new Store(db, hot);
  // PostgreSQL: LISTEN for the outbox's NOTIFY, opened only once someone waits on events (a long poll).
  const listener =
    config.database.client === 'postgres' ? new EventListener(config.database.connectionString, store.eventSignal, log ?? silentLogger) : undefined;
  if (listener) store.eventSignal.onFirstWait(() => listener.start());
  return {
    db,
    store,
    close: async () => {
      await listener?.stop();
      hot?.close();
      await db.destroy();
    },
  };
}

export function scheduleSettings(config: Config): ScheduleSettings {
  return {
    alg: config.signingAlg,
    rotationIntervalSeconds: config.keyRotationIntervalSeconds,
    jwksMaxAgeSeconds: config.jwksMaxAgeSeconds,
    clockLeewaySeconds: config.clockLeewaySeconds,
    accessTokenTtlSeconds: config.accessTokenTtlSeconds,
  };
}

/**
 * The key manager with its ring loaded. Every stored private key is decrypted first, so a wrong secret stops
 * here, before anything is written.
 */
export async function openKeys(config: Config, store: Store, clock: Clock, log: Logger): Promise<KeyManager> {
  const hasKeys = (await store.signingKeys.list()).length > 0;
  const encryption = new KeyEncryption(resolveKeySecrets(config, hasKeys));
  const keys = new KeyManager(store, encryption, scheduleSettings(config), clock, log);
  await keys.reload();
  return keys;
}

/** The brute-force throttle with the configured thresholds. */
export function openThrottle(config: Config, store: Store, clock: Clock): Throttle {
  return new Throttle(store, throttleSettings(config.lockout), clock, config.loginConcurrency);
}

/** The knex pool's use, for the metrics (tarn.js under knex). */
function poolUse(db: Database): { inUse: number; waiting: number } {
  const pool = (db.client as { pool?: { numUsed(): number; numPendingAcquires(): number } }).pool;
  return pool ? { inUse: pool.numUsed(), waiting: pool.numPendingAcquires() } : { inUse: 0, waiting: 0 };
}

/** The issuer's metrics, reading keys, pool and Argon2 line at scrape time. */
export function openMetrics(
  config: Config,
  parts: { db: Database; keys: KeyManager; passwords: PasswordHasher; clock: Clock },
  options: { processMetrics: boolean },
): Metrics {
  const metrics = new Metrics(
    {
      keys: () => parts.keys.ring.records,
      pool: () => poolUse(parts.db),
      argon2Queue: () => parts.passwords.queueLength,
      now: () => parts.clock.now(),
    },
    { clientLabels: config.metrics?.clientLabels ?? true, processMetrics: options.processMetrics },
  );
  // A promotion made by any instance (or the CLI) shows here as a new current key at the next reload.
  const currentKid = (ring: KeyRing) => ring.records.find((record) => record.state === 'current')?.kid;
  let current = currentKid(parts.keys.ring);
  parts.keys.onReload((ring) => {
    const now = currentKid(ring);
    if (now !== undefined && current !== undefined && now !== current) metrics.keyRotated();
    current = now ?? current;
  });
  return metrics;
}
