/**
 * Prometheus metrics (prom-client), in a registry of the issuer's own (several issuers in one test process do
 * not mix). Names follow the Prometheus conventions: `gatehouse_` prefix, `_total` for counters, base units
 * (`_seconds`). Labels are bounded: never a user, token or session id; a client id only where the number of
 * clients is bounded by registration, and GATEHOUSE_METRICS_CLIENT_LABELS=false replaces it by "-".
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SessionEndReason } from '../storage/sessions.js';
import type { ThrottleDecision } from './request-scope.js';

/** What the gauges read at scrape time. */
export interface MetricSources {
  /** The signing keys as this instance last loaded them. */
  keys(): ReadonlyArray<{ state: string; activatedAt: number | null }>;
  /** The database pool. */
  pool(): { inUse: number; waiting: number };
  /** Logins waiting for an Argon2 slot. */
  argon2Queue(): number;
  /** Epoch seconds now (the issuer's clock). */
  now(): number;
}

export interface MetricsOptions {
  /** Label counters with client ids (bounded by registration). */
  clientLabels: boolean;
  /** Also export Node's process metrics (CPU, memory, event loop lag, GC): once per process, not per test issuer. */
  processMetrics: boolean;
}

export type LoginResult = 'ok' | 'failed' | 'throttled' | 'busy';
export type SessionEndCause = 'admin' | 'logout' | 'reuse' | 'password_change' | 'user_disabled' | 'client_disabled' | 'consent_revoked' | 'replaced';

/** The stored end reasons, folded into the causes an operator asks about (a logout is a logout, wherever). */
const END_CAUSES: Record<SessionEndReason, SessionEndCause> = {
  admin: 'admin',
  revoked: 'logout',
  logout: 'logout',
  refresh_reuse: 'reuse',
  code_reuse: 'reuse',
  password_changed: 'password_change',
  user_disabled: 'user_disabled',
  client_disabled: 'client_disabled',
  consent_revoked: 'consent_revoked',
  replaced: 'replaced',
};

/** Request durations: from 0.5 ms (a cached introspection) to 2.5 s (a login waiting for Argon2). */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class Metrics {
  readonly registry = new Registry();
  private readonly clientLabels: boolean;
  private readonly httpRequests: Counter<'route' | 'method' | 'status_class'>;
  private readonly httpDuration: Histogram<'route' | 'method' | 'status_class'>;
  private readonly tokensIssued: Counter<'grant_type' | 'client_id'>;
  private readonly introspections: Counter<'result' | 'caller'>;
  private readonly logins: Counter<'result'>;
  private readonly refreshReuse: Counter;
  private readonly sessionsEnded: Counter<'cause'>;
  private readonly throttleBlocks: Counter<'kind'>;
  private readonly keyRotations: Counter;
  private readonly databaseUnavailable: Counter;
  private readonly pushDeliveries: Counter<'outcome'>;

  constructor(sources: MetricSources, options: MetricsOptions) {
    this.clientLabels = options.clientLabels;
    const registers = [this.registry];
    this.httpRequests = new Counter({ name: 'gatehouse_http_requests_total', help: 'HTTP requests answered, by route, method and status class.', labelNames: ['route', 'method', 'status_class'], registers });
    this.httpDuration = new Histogram({
      name: 'gatehouse_http_request_duration_seconds',
      help: 'Time from the request to its answer, by route, method and status class.',
      labelNames: ['route', 'method', 'status_class'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.tokensIssued = new Counter({ name: 'gatehouse_tokens_issued_total', help: 'Access tokens issued, by grant type and client.', labelNames: ['grant_type', 'client_id'], registers });
    this.introspections = new Counter({ name: 'gatehouse_introspections_total', help: 'Introspection answers, by result (active or inactive) and calling client.', labelNames: ['result', 'caller'], registers });
    this.logins = new Counter({ name: 'gatehouse_logins_total', help: 'Password logins: ok, failed (wrong credentials), throttled (locked out or too many at once), busy (Argon2 line full).', labelNames: ['result'], registers });
    this.refreshReuse = new Counter({ name: 'gatehouse_refresh_reuse_detected_total', help: 'Rotated refresh tokens presented again: each ended a session.', registers });
    this.sessionsEnded = new Counter({ name: 'gatehouse_sessions_ended_total', help: 'Sessions ended early by this instance, by cause.', labelNames: ['cause'], registers });
    this.throttleBlocks = new Counter({ name: 'gatehouse_throttle_blocks_total', help: 'Requests refused by brute-force or load protection, by kind.', labelNames: ['kind'], registers });
    this.keyRotations = new Counter({ name: 'gatehouse_key_rotations_total', help: 'Signing key promotions this instance has seen, whoever made them (any instance or the CLI).', registers });
    this.pushDeliveries = new Counter({ name: 'gatehouse_ssf_push_deliveries_total', help: 'Shared Signals push attempts (RFC 8935), by outcome: delivered, rejected (400 from the receiver), failed (retried), dead (given up).', labelNames: ['outcome'], registers });
    this.databaseUnavailable = new Counter({ name: 'gatehouse_database_unavailable_errors_total', help: 'Requests answered 503 because the database could not be reached.', registers });

    new Gauge({
      name: 'gatehouse_signing_keys',
      help: 'Signing keys by state (next, current, retired, revoked), as this instance last loaded them.',
      labelNames: ['state'],
      aggregator: 'max',
      registers,
      collect() {
        this.reset();
        for (const state of ['next', 'current', 'retired', 'revoked']) this.set({ state }, 0);
        for (const key of sources.keys()) this.inc({ state: key.state });
      },
    });
    new Gauge({
      name: 'gatehouse_signing_key_age_seconds',
      help: 'How long the current signing key has been signing.',
      aggregator: 'max',
      registers,
      collect() {
        const current = sources.keys().find((key) => key.state === 'current');
        this.set(current?.activatedAt ? Math.max(0, sources.now() - current.activatedAt) : 0);
      },
    });
    new Gauge({
      name: 'gatehouse_db_pool_connections',
      help: 'Database connections of this instance: in use, and requests waiting for one.',
      labelNames: ['state'],
      registers,
      collect() {
        const pool = sources.pool();
        this.set({ state: 'in_use' }, pool.inUse);
        this.set({ state: 'waiting' }, pool.waiting);
      },
    });
    new Gauge({
      name: 'gatehouse_argon2_queue_length',
      help: 'Logins waiting for a free Argon2 slot.',
      registers,
      collect() {
        this.set(sources.argon2Queue());
      },
    });
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  private client(clientId: string): string {
    return this.clientLabels ? clientId : '-';
  }

  request(route: string, method: string, status: number, seconds: number): void {
    const labels = { route, method, status_class: `${Math.floor(status / 100)}xx` };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
  }

  tokenIssued(grantType: string, clientId: string): void {
    this.tokensIssued.inc({ grant_type: grantType, client_id: this.client(clientId) });
  }

  introspected(active: boolean, callerId: string): void {
    this.introspections.inc({ result: active ? 'active' : 'inactive', caller: this.client(callerId) });
  }

  login(result: LoginResult): void {
    this.logins.inc({ result });
  }

  reuseDetected(): void {
    this.refreshReuse.inc();
  }

  sessionsEndedBy(reason: SessionEndReason, count = 1): void {
    if (count > 0) this.sessionsEnded.inc({ cause: END_CAUSES[reason] }, count);
  }

  throttled(kind: Exclude<ThrottleDecision, 'counted'> | 'client'): void {
    this.throttleBlocks.inc({ kind });
  }

  keyRotated(): void {
    this.keyRotations.inc();
  }

  pushDelivery(outcome: 'delivered' | 'rejected' | 'failed' | 'dead'): void {
    this.pushDeliveries.inc({ outcome });
  }

  databaseUnavailableError(): void {
    this.databaseUnavailable.inc();
  }

  /** The exposition text (Prometheus 0.0.4). */
  expose(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
