/**
 * GATEHOUSE_WORKERS > 1: a primary process prepares the database once (migrations, the first signing key), then
 * forks the workers, which share the listening port (node:cluster) and nothing else: sessions, keys and
 * throttles live in the database, exactly as with several instances. The primary logs the one start line,
 * replaces a worker that dies, and on SIGTERM stops them all, each finishing its in-flight requests.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from './lib/log.js';

/** What a worker reports once it listens. */
export interface WorkerReady {
  type: 'gatehouse:listening';
  port: number;
}

export function reportReady(port: number): void {
  const message: WorkerReady = { type: 'gatehouse:listening', port };
  process.send?.(message);
}

export async function runPrimary(workers: number, log: Logger): Promise<number> {
  let stopping = false;
  const live = new Set<Worker>();
  /** Workers that reported listening: only they can have requests in flight. */
  const serving = new WeakSet<Worker>();

  const fork = (replacing = false): Promise<number> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork();
      let ready = false;
      live.add(worker);
      worker.on('message', (message: WorkerReady) => {
        if (message?.type !== 'gatehouse:listening') return;
        ready = true;
        serving.add(worker);
        if (replacing) log.info('replacement worker is serving', { pid: worker.process.pid });
        resolve(message.port);
      });
      worker.on('exit', (code, signal) => {
        live.delete(worker);
        if (stopping) return;
        if (!ready) {
          // A worker that cannot start (its error is in the log) would fail again: stop everything.
          reject(new Error(`a worker exited during start (code ${code}, signal ${signal})`));
          return;
        }
        log.warn('worker exited; starting another', { code: code ?? undefined, signal: signal ?? undefined });
        void fork(true).catch((error: unknown) => log.error('worker restart failed', { error: String(error) }));
      });
    });

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: stopping ${live.size} worker(s)`);
    let failed = false;
    for (const worker of live) {
      worker.once('exit', (code, signal) => {
        // A worker still starting dies of the signal itself; it had nothing in flight.
        const clean = code === 0 || !serving.has(worker);
        if (!clean) log.warn('worker did not stop cleanly', { code: code ?? undefined, signal: signal ?? undefined });
        failed ||= !clean;
        if (live.size === 0) process.exit(failed ? 1 : 0);
      });
      worker.process.kill('SIGTERM');
    }
    if (live.size === 0) process.exit(0);
    setTimeout(() => process.exit(1), 15_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  const ports = await Promise.all(Array.from({ length: workers }, () => fork()));
  return ports[0]!;
}

export const isClusterWorker = (): boolean => cluster.isWorker;

/** In a worker: answer the primary's requests for this worker's metrics. */
export function reportMetricsToPrimary(registry: Registry): void {
  new AggregatorRegistry(); // installs the worker's listener
  AggregatorRegistry.setRegistries(registry);
}

/** In the primary: every worker's metrics, summed (gauges of shared state take the largest). */
export function clusterMetrics(): { expose(): Promise<string>; readonly contentType: string } {
  const aggregator = new AggregatorRegistry();
  return { expose: () => aggregator.clusterMetrics(), contentType: aggregator.contentType };
}
