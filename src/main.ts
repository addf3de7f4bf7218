#!/usr/bin/env node
/**
 * `npm start`: configuration → database → keys → app → listen. The only place, with the CLI, that reads the
 * environment.
 */
import cluster from 'node:cluster';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { createApp } from './app.js';
import { clusterMetrics, isClusterWorker, reportMetricsToPrimary, reportReady, runPrimary } from './cluster.js';
import { createHttpServer, serve } from './http/server.js';
import { openKeys, openMetrics, openRuntime, openThrottle, type Runtime } from './boot.js';
import { ConfigError, loadConfig, resolveIssuer, type Config } from './config.js';
import { KeySecretError } from './keys/encryption.js';
import { Janitor } from './maintenance/janitor.js';
import { PushWorker } from './ssf/push-worker.js';
import type { KeyManager } from './keys/key-manager.js';
import { RevocationFollower } from './keys/revocation-follower.js';
import { systemClock } from './lib/clock.js';
import { describeError } from './lib/log.js';
import { createIssuerLogger, type IssuerLogger } from './observability/logger.js';
import { startMetricsServer } from './observability/metrics-server.js';
import { PasswordHasher } from './passwords/argon2.js';

/** Until the configuration is read (and names its level), the default level. */
let log: IssuerLogger = createIssuerLogger();
const SHUTDOWN_GRACE_MS = 10_000;

/** What is open so far; a signal at any point closes exactly that. */
const opened: { runtime?: Runtime; keys?: KeyManager; revocations?: RevocationFollower; janitor?: Janitor; push?: PushWorker; server?: Server; metricsServer?: Server } = {};
let stopping = false;

function stop(signal: string): void {
  if (stopping) return;
  stopping = true;
  log.info(`${signal}: finishing in-flight requests`);
  setTimeout(() => {
    log.warn(`in-flight requests did not finish in ${SHUTDOWN_GRACE_MS / 1000} s; exiting`);
    process.exit(1);
  }, SHUTDOWN_GRACE_MS).unref();
  opened.keys?.stop();
  opened.metricsServer?.close();
  const closeDatabase = () =>
    Promise.all([opened.revocations?.stop(), opened.janitor?.stop(), opened.push?.stop()])
      .then(() => opened.runtime?.close())
      .then(() => process.exit(0), () => process.exit(1));
  if (!opened.server?.listening) {
    void closeDatabase();
    return;
  }
  opened.server.close(() => void closeDatabase());
  opened.server.closeIdleConnections();
}

async function listen(server: Server, config: Config): Promise<number> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, resolve);
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') throw new ConfigError('PORT', `cannot listen on port ${config.port} (${code})`);
    throw new ConfigError('HOST', `cannot listen on ${config.host} (${code ?? 'error'})`);
  }
  return (server.address() as AddressInfo).port;
}

/** Everything one serving process does; `announce` = log the start line (the primary does it in cluster mode). */
async function serveRequests(config: Config, announce: boolean): Promise<void> {
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  opened.runtime = await openRuntime(config, log);
  const keys = (opened.keys = await openKeys(config, opened.runtime.store, systemClock, log));
  await keys.maintain(); // the first start creates the first signing key
  const hasClients = (await opened.runtime.store.clients.count()) > 0;
  if (stopping) return;

  const server = (opened.server = createHttpServer());
  const port = await listen(server, config);
  const issuer = resolveIssuer(config, port);
  // One core fewer than the machine has runs hashes, so a burst of logins never starves introspection.
  const passwords = new PasswordHasher(
    { memoryKib: config.argon2MemoryKib, iterations: config.argon2Iterations },
    Math.max(1, availableParallelism() - 1),
    config.argon2QueueMax,
  );
  const throttle = openThrottle(config, opened.runtime.store, systemClock);
  const metrics = openMetrics(config, { db: opened.runtime.db, keys, passwords, clock: systemClock }, { processMetrics: true });
  const app = createApp({ issuer, config, store: opened.runtime.store, keys, passwords, throttle, clock: systemClock, log, metrics });
  serve(server, app);
  if (config.metrics && !isClusterWorker()) {
    const listening = await startMetricsServer(metrics, config.metrics.host, config.metrics.port);
    opened.metricsServer = listening.server;
    log.info(`metrics on http://${config.metrics.host}:${listening.port}/metrics`);
  } else if (config.metrics) {
    // The primary serves the metrics of every worker (prom-client's cluster aggregation).
    reportMetricsToPrimary(metrics.registry);
  }
  keys.start();
  // A key revoked elsewhere is refused here as soon as its event commits, not at the ring's next refresh.
  opened.revocations = new RevocationFollower(opened.runtime.store, () => keys.reload(), log);
  opened.revocations.start();
  opened.janitor = new Janitor(opened.runtime.store, systemClock, log, { eventRetentionSeconds: config.eventRetentionSeconds, ssfInactivityTimeoutSeconds: config.ssfInactivityTimeoutSeconds });
  opened.janitor.start(config.janitorIntervalSeconds);
  // Push delivery of Shared Signals (RFC 8935): one worker per process; leases in the database keep instances apart.
  opened.push = new PushWorker({ issuer, store: opened.runtime.store, keys, clock: systemClock, log, metrics }, config.ssfPush);
  opened.push.start();

  if (announce) announceStart(config, issuer, port, hasClients);
  else reportReady(port);
}

function announceStart(config: Config, issuer: string, port: number, hasClients: boolean): void {
  if (config.workers > 1) log.info(`${config.workers} worker processes share the port`);
  log.info(`Gatehouse issuer ${issuer} listening on ${config.host}:${port}`);
  if (!hasClients) {
    log.info(
      'No client exists yet. Create one with: npx gatehouse clients create --public --id my-app --redirect-uri http://localhost:5173/callback --scopes "read write"',
    );
  }
}

/** The primary of GATEHOUSE_WORKERS > 1: migrations and the first key once, then the workers. */
async function superviseWorkers(config: Config): Promise<void> {
  const runtime = await openRuntime(config, log);
  let hasClients: boolean;
  try {
    await (await openKeys(config, runtime.store, systemClock, log)).maintain();
    hasClients = (await runtime.store.clients.count()) > 0;
  } finally {
    await runtime.close();
  }
  let port: number;
  try {
    port = await runPrimary(config.workers, log);
    if (config.metrics) {
      const listening = await startMetricsServer(clusterMetrics(), config.metrics.host, config.metrics.port);
      log.info(`metrics of all ${config.workers} workers on http://${config.metrics.host}:${listening.port}/metrics`);
    }
  } catch (error) {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    throw error;
  }
  announceStart(config, resolveIssuer(config, port), port, hasClients);
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  log = createIssuerLogger({ level: config.logLevel });
  if (isClusterWorker()) await serveRequests(config, false);
  else if (config.workers > 1) await superviseWorkers(config);
  else await serveRequests(config, true);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof KeySecretError) {
    process.stderr.write(`gatehouse: ${error.message}\n`);
  } else {
    log.error('start failed', { error: describeError(error) });
  }
  process.exit(1);
});
