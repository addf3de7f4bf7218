/**
 * A real issuer for black-box tests: the app from createApp on a free port, over a fresh SQLite file in a temp
 * folder, with an injected clock. Clients and users are seeded through the same functions the CLI calls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Context, Next } from 'koa';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, issuerPath } from '../../src/app.js';
import { createHttpServer, serve, type ServerLimits } from '../../src/http/server.js';
import { openKeys, openMetrics, openRuntime, openThrottle, type Runtime } from '../../src/boot.js';
import { registerClient, type NewClient } from '../../src/clients/register.js';
import { loadConfig, resolveIssuer, type Config } from '../../src/config.js';
import type { Deps } from '../../src/deps.js';
import type { Metrics } from '../../src/observability/metrics.js';
import type { KeyManager } from '../../src/keys/key-manager.js';
import { ManualClock } from '../../src/lib/clock.js';
import { createIssuerLogger } from '../../src/observability/logger.js';
import { PushWorker } from '../../src/ssf/push-worker.js';
import { RevocationFollower } from '../../src/keys/revocation-follower.js';
import { PasswordHasher } from '../../src/passwords/argon2.js';
import type { Database } from '../../src/storage/database.js';
import type { Store } from '../../src/storage/store.js';
import { createUser } from '../../src/users/accounts.js';
import { freshDatabase, type TestDatabase } from './database.js';
import { OpenApiChecker } from './openapi.js';

/**
 * Cheap Argon2 parameters for tests: the parameters change the cost, not the code path. And every test client
 * sends from 127.0.0.1, the tests of a file run at once, and many log one user in at the same moment: since login
 * attempts count from before their check until they succeed, the lockout thresholds and the caps on concurrent
 * password checks are raised here. The tests of those defences (test/security/lockout.test.ts,
 * concurrent-guessing.test.ts, login-load.test.ts, …) set the values they test.
 */
export const TEST_ENV = {
  GATEHOUSE_ARGON2_MEMORY_KIB: '64',
  GATEHOUSE_ARGON2_ITERATIONS: '1',
  GATEHOUSE_LOCKOUT_THRESHOLD: '1000',
  GATEHOUSE_LOCKOUT_IP_THRESHOLD: '100000',
  GATEHOUSE_LOCKOUT_USER_THRESHOLD: '10000',
  GATEHOUSE_LOGIN_CONCURRENCY_USER: '1000',
  GATEHOUSE_LOGIN_CONCURRENCY_IP: '100000',
};

export interface Issuer {
  /** Base URL to send requests to (127.0.0.1 and the bound port). */
  url: string;
  /** Where the endpoints are: `url` plus the issuer's path (empty unless GATEHOUSE_ISSUER has one). */
  api: string;
  /** The issuer identifier, http://localhost:<port> unless GATEHOUSE_ISSUER is set. */
  issuer: string;
  clock: ManualClock;
  config: Config;
  store: Store;
  /** The issuer's own knex handle, for tests that must look at or load rows directly. */
  db: Database;
  keys: KeyManager;
  deps: Deps;
  /** Every log line the issuer wrote (JSON, one object each). */
  logs: string[];
  /** Answers so far that do not match /openapi.json (close() throws when there are any). */
  openApiProblems: string[];
  /** The issuer's metrics (what GET /metrics on the metrics port would expose). */
  metrics: Metrics;
  dir: string;
  createClient(client: NewClient): Promise<{ id: string; secret: string }>;
  createUser(username: string, password: string): Promise<{ id: string; username: string }>;
  close(): Promise<void>;
}

export function tempDir(prefix = 'gatehouse-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startIssuer(
  options: {
    env?: Record<string, string>;
    clock?: ManualClock;
    dir?: string;
    database?: TestDatabase;
    limits?: Partial<ServerLimits>;
    /** Run the Shared Signals push worker (RFC 8935) as main.ts does; off unless a test pushes. */
    push?: boolean;
    /** Re-read the key ring at each key-revoked event, as main.ts does; off unless a test follows revocations. */
    followRevocations?: boolean;
  } = {},
): Promise<Issuer> {
  const dir = options.dir ?? tempDir();
  const database = options.database ?? (await freshDatabase(dir));
  const config = loadConfig({
    DATABASE_URL: database.url,
    GATEHOUSE_KEYS_DIR: join(dir, 'keys'),
    ...TEST_ENV,
    ...options.env,
  });
  const clock = options.clock ?? new ManualClock(1_800_000_000);
  const logs: string[] = [];
  const log = createIssuerLogger({ level: config.logLevel, write: (line) => logs.push(line) });
  const runtime: Runtime = await openRuntime(config, log);
  const keys = await openKeys(config, runtime.store, clock, log);
  await keys.maintain();

  const server: Server = createHttpServer(options.limits);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = resolveIssuer(config, port);
  const passwords = new PasswordHasher({ memoryKib: config.argon2MemoryKib, iterations: config.argon2Iterations }, 2, config.argon2QueueMax);
  const metrics = openMetrics(config, { db: runtime.db, keys, passwords, clock }, { processMetrics: false });
  const deps: Deps = { issuer, config, store: runtime.store, keys, passwords, throttle: openThrottle(config, runtime.store, clock), clock, log, metrics };
  const app = createApp(deps);
  // Every answer of this issuer is checked against its OpenAPI document; close() fails the test on any mismatch.
  const openApiProblems: string[] = [];
  app.middleware.unshift(checkAgainstOpenApi(new OpenApiChecker(issuer), openApiProblems));
  serve(server, app);
  const push = options.push ? new PushWorker({ issuer, store: runtime.store, keys, clock, log, metrics }, config.ssfPush) : undefined;
  push?.start();
  const revocations = options.followRevocations ? new RevocationFollower(runtime.store, () => keys.reload(), log) : undefined;
  revocations?.start();

  return {
    url: `http://127.0.0.1:${port}`,
    api: `http://127.0.0.1:${port}${issuerPath(issuer)}`,
    issuer,
    clock,
    config,
    store: runtime.store,
    db: runtime.db,
    keys,
    deps,
    logs,
    metrics,
    dir,
    async createClient(client) {
      const { record, secret } = await registerClient(runtime.store, client, clock.now());
      return { id: record.id, secret };
    },
    async createUser(username, password) {
      const user = await createUser(runtime.store, passwords, username, password, clock.now());
      return { id: user.id, username: user.username };
    },
    openApiProblems,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await push?.stop();
      await revocations?.stop();
      await runtime.close();
      if (!options.database) await database.drop();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
      if (openApiProblems.length > 0) {
        throw new Error(`answers that /openapi.json does not describe:\n${[...new Set(openApiProblems)].join('\n')}`);
      }
    },
  };
}

/** Koa middleware, first of all: hands every answer to the OpenAPI checker. */
function checkAgainstOpenApi(checker: OpenApiChecker, problems: string[]) {
  return async function openApiCheck(ctx: Context, next: Next): Promise<void> {
    await next();
    if (!ctx.writable) return; // the client went away: nothing was answered
    let body: unknown = ctx.body ?? undefined;
    if (Buffer.isBuffer(body)) body = body.toString('utf8');
    if (typeof body === 'string' && body !== '' && /json/.test(ctx.response.type)) body = JSON.parse(body);
    problems.push(
      ...checker.check({
        method: ctx.method,
        path: ctx.path,
        status: ctx.status,
        headers: ctx.response.headers as Record<string, string>,
        contentType: ctx.response.get('content-type') || '',
        body,
      }),
    );
  };
}
