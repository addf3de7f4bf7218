/**
 * One load run with autocannon: N keep-alive connections, one request in flight on each, for a fixed duration.
 * Latencies are recorded here from every response (autocannon's own histogram has 1 ms resolution), so p50 and
 * p99 are exact to the microsecond.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { ROOT, TSX } from './paths.js';

export interface Measurement {
  /** Responses received during the run (any status). */
  requests: number;
  durationSec: number;
  rps: number;
  /** Milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Answers with a status other than 2xx. */
  non2xx: number;
  /** Connection errors and timeouts (timeouts are counted in both). */
  socketErrors: number;
  timeouts: number;
  /** 2xx answers whose body was not the expected one. */
  mismatches: number;
  /** non2xx + socketErrors + mismatches. */
  errors: number;
  statusCodes: Record<string, number>;
}

export interface ConnectionState {
  /** The body of this connection's next request. */
  next(): string;
  /** Called with every answer, before the next request is built. */
  onResponse?(status: number, body: string): void;
}

export interface LoadSpec {
  /** http://127.0.0.1:<port> */
  url: string;
  connections: number;
  duration: number;
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  /** One body for every request. */
  body?: string;
  /** A pool of bodies: each connection cycles through all of them, starting at an offset of its own. */
  bodies?: readonly string[];
  /** A pool of extra headers (Bearer tokens), used like `bodies`. */
  headerPool?: readonly Record<string, string>[];
  /** A body built for each request, from state kept per connection (refresh chains, never-seen tokens). */
  perConnection?: () => ConnectionState;
  /** Counts a 2xx answer whose body fails this as a mismatch. */
  verify?: (body: string) => boolean;
  timeoutSec?: number;
  /** Requests per second from all connections together (default: as fast as the answers come). */
  overallRate?: number;
  /** Ends the run before `duration` when it resolves (in-process runs only). */
  until?: Promise<unknown>;
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

export async function drive(spec: LoadSpec): Promise<Measurement> {
  // Bodies are checked here rather than with autocannon's verifyBody, which also counts every non-2xx answer.
  let mismatches = 0;
  const verify = spec.verify;
  const check = verify
    ? (status: number, body: string) => {
        if (status >= 200 && status < 300 && !verify(body)) mismatches++;
      }
    : undefined;
  const base: autocannon.Request = {
    method: spec.method,
    path: spec.path,
    headers: { ...spec.headers },
    ...(check ? { onResponse: check } : {}),
  };
  let clientCount = 0;
  let setupClient: ((client: autocannon.Client) => void) | undefined;
  let first: autocannon.Request;

  if (spec.perConnection) {
    const make = spec.perConnection;
    first = { ...base, body: '' };
    setupClient = (client) => {
      const state = make();
      client.setRequests([
        {
          ...base,
          setupRequest: (request) => {
            request.body = state.next();
            return request;
          },
          onResponse: (status: number, body: string) => {
            check?.(status, body);
            state.onResponse?.(status, body);
          },
        },
      ]);
    };
  } else if ((spec.bodies && spec.bodies.length > 1) || spec.headerPool) {
    const pool: autocannon.Request[] = spec.bodies
      ? spec.bodies.map((body) => ({ ...base, body }))
      : spec.headerPool!.map((headers) => ({ ...base, ...(spec.body === undefined ? {} : { body: spec.body }), headers: { ...base.headers, ...headers } }));
    first = pool[0]!;
    // Spread the connections over the pool, so they do not all ask for the same token at the same moment.
    const stride = Math.max(1, Math.floor(pool.length / spec.connections));
    setupClient = (client) => {
      const offset = (clientCount++ * stride) % pool.length;
      // Copies: autocannon writes each request's encoded buffer (and Content-Length) into the object it is given.
      client.setRequests([...pool.slice(offset), ...pool.slice(0, offset)].map((request) => ({ ...request, headers: { ...request.headers } })));
    };
  } else {
    const body = spec.body ?? spec.bodies?.[0];
    first = body === undefined ? base : { ...base, body };
  }

  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: spec.duration,
        pipelining: 1,
        timeout: spec.timeoutSec ?? 10,
        requests: [first],
        ...(setupClient ? { setupClient } : {}),
        ...(spec.overallRate === undefined ? {} : { overallRate: spec.overallRate }),
      },
      (error, finished) => (error ? reject(error) : resolve(finished)),
    );
    void spec.until?.then(() => instance.stop());
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      latencies.push(responseTime);
    });
  });

  const sorted = Float64Array.from(latencies).sort();
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = (stats as { count?: number }).count ?? 0;
  const socketErrors = result.errors;
  return {
    requests: latencies.length,
    durationSec: result.duration,
    rps: latencies.length / result.duration,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
    non2xx: result.non2xx,
    socketErrors,
    timeouts: result.timeouts,
    mismatches,
    errors: result.non2xx + socketErrors + mismatches,
    statusCodes,
  };
}

/**
 * `drive` in a process of its own (scripts/bench/load-child.ts), so that the load generator does not share the
 * bench process's event loop with anything else. A spec that keeps state per connection in this process
 * (refresh chains, never-seen token pools) cannot move: it runs here, and the answer says so.
 */
export async function driveOutside(spec: LoadSpec): Promise<Measurement & { inProcess?: true }> {
  if (spec.perConnection) return { ...(await drive(spec)), inProcess: true };
  if (spec.until) return { ...(await drive(spec)), inProcess: true };
  const { verify, perConnection: _unused, until: _local, ...serializable } = spec;
  const child = fork(join(ROOT, 'scripts', 'bench', 'load-child.ts'), [], { execArgv: TSX, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let answered = false;
    child.once('message', (measured) => {
      answered = true;
      resolve(measured as Measurement);
    });
    child.once('exit', (code) => {
      if (!answered) reject(new Error(`the load generator process exited with ${code} before it answered`));
    });
    child.send({ spec: serializable, verify: verify?.toString() });
  });
}
