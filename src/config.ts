/**
 * Configuration from the environment, parsed and validated once at start. Every bad value is reported as a
 * ConfigError naming its variable; main.ts and the CLI print that one line and stop.
 */
import { isIP } from 'node:net';
import { LOG_LEVELS, type LogLevel } from './observability/logger.js';

export const SIGNING_ALGS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

export type DatabaseConfig =
  | { client: 'sqlite'; filename: string }
  | { client: 'postgres'; connectionString: string; poolMax: number; connectTimeoutSeconds: number; statementTimeoutSeconds: number };

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Set when GATEHOUSE_ISSUER is given; otherwise derived from the listening port (see resolveIssuer). */
  readonly issuer: string | undefined;
  readonly database: DatabaseConfig;
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  readonly sessionMaxAgeSeconds: number;
  readonly refreshGraceSeconds: number;
  /** How long an authorization code may wait for its redemption (RFC 6749 §4.1.2: short-lived). */
  readonly authorizationCodeTtlSeconds: number;
  readonly signingAlg: SigningAlg;
  /** Secrets that encrypt private keys at rest; the first encrypts. Undefined = use the generated key file. */
  readonly keySecrets: readonly string[] | undefined;
  readonly keysDir: string;
  readonly argon2MemoryKib: number;
  readonly argon2Iterations: number;
  readonly keyRotationIntervalSeconds: number;
  readonly jwksMaxAgeSeconds: number;
  readonly clockLeewaySeconds: number;
  /**
   * Proxies in front of the issuer that append to X-Forwarded-For: the client address is the entry this many
   * places from the right (see http/client-address.ts). 0 = the socket's peer.
   */
  readonly trustProxyHops: number;
  /** How often the janitor deletes expired rows; 0 turns it off. */
  readonly janitorIntervalSeconds: number;
  /** How long the event outbox keeps an event (Shared Signals receivers that lag longer miss it). */
  readonly eventRetentionSeconds: number;
  /** The longest an RFC 8936 long poll waits for an event before it answers with none. */
  readonly ssfPollWaitSeconds: number;
  /**
   * SSF inactivity_timeout: a stream whose receiver has not polled it (nor created it) for this long is disabled
   * by the janitor, and deleted after twice as long.
   */
  readonly ssfInactivityTimeoutSeconds: number;
  /**
   * Push delivery (RFC 8935): failed attempts before a SET is dead-lettered; the first retry's wait (doubling at
   * each failure, with jitter) and the longest wait; the longest one POST may take.
   */
  readonly ssfPush: { maxAttempts: number; backoffBaseMs: number; backoffMaxMs: number; timeoutMs: number };
  /** Processes serving requests (node:cluster); everything they share lives in the database. */
  readonly workers: number;
  /** Brute-force thresholds: failures before waiting starts, per (username, IP), per IP, per username; the longest wait. */
  readonly lockout: { perUserAndAddress: number; perAddress: number; perUser: number; maxDelaySeconds: number };
  /** Password checks running at once, per username and per client address, in this process. */
  readonly loginConcurrency: { perUser: number; perAddress: number };
  /** Password checks allowed to wait for a free Argon2 slot; beyond that a login is answered 503 at once. */
  readonly argon2QueueMax: number;
  readonly logLevel: LogLevel;
  /** Prometheus metrics on a listener of their own, never on the public port; undefined = no metrics listener. */
  readonly metrics: { port: number; host: string; clientLabels: boolean } | undefined;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function readInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `must be a whole number, got ${JSON.stringify(raw)}`);
  const value = Number(raw.trim());
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/**
 * The issuer identifier (RFC 8414 §2): an https URL without query or fragment. Plain http is accepted only
 * for loopback hosts, so a development issuer works without TLS and a deployed one cannot lack it.
 */
export function validateIssuer(value: string, variable = 'GATEHOUSE_ISSUER'): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(variable, `must be an absolute URL, got ${JSON.stringify(value)}`);
  }
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) {
    throw new ConfigError(variable, 'must not have a query or fragment (RFC 8414 §2)');
  }
  if (url.username !== '' || url.password !== '') throw new ConfigError(variable, 'must not carry credentials');
  if (url.protocol === 'http:') {
    if (!isLoopbackHost(url.hostname)) {
      throw new ConfigError(variable, `must use https unless the host is loopback, got ${JSON.stringify(value)}`);
    }
  } else if (url.protocol !== 'https:') {
    throw new ConfigError(variable, `must be an http(s) URL, got ${JSON.stringify(value)}`);
  }
  if (value.endsWith('/')) throw new ConfigError(variable, 'must not end with a slash');
  return value;
}

export function parseDatabaseUrl(value: string, env: Env = {}): DatabaseConfig {
  if (value === 'sqlite::memory:') return { client: 'sqlite', filename: ':memory:' };
  if (value.startsWith('sqlite:')) {
    const filename = value.slice('sqlite:'.length);
    if (filename === '') throw new ConfigError('DATABASE_URL', 'sqlite: needs a path, as in sqlite:data/gatehouse.sqlite');
    return { client: 'sqlite', filename };
  }
  if (value.startsWith('postgres://') || value.startsWith('postgresql://')) {
    try {
      new URL(value);
    } catch {
      throw new ConfigError('DATABASE_URL', 'is not a valid postgres:// URL');
    }
    return {
      client: 'postgres',
      connectionString: value,
      poolMax: readInteger(env, 'GATEHOUSE_DB_POOL_MAX', 10, 2, 1000),
      connectTimeoutSeconds: readInteger(env, 'GATEHOUSE_DB_CONNECT_TIMEOUT', 5, 1, 300),
      statementTimeoutSeconds: readInteger(env, 'GATEHOUSE_DB_STATEMENT_TIMEOUT', 10, 1, 3600),
    };
  }
  throw new ConfigError('DATABASE_URL', `must start with sqlite:, postgres:// or postgresql://, got ${JSON.stringify(value.split(':')[0])}`);
}

function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got ${JSON.stringify(env[name])}`);
}

function parseKeySecrets(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const secrets = raw.split(',').map((secret) => secret.trim());
  secrets.forEach((secret, index) => {
    if (secret.length < 32) {
      throw new ConfigError('GATEHOUSE_KEY_SECRETS', `secret #${index + 1} is shorter than 32 characters`);
    }
  });
  return secrets;
}

/**
 * GATEHOUSE_TRUST_PROXY_HOPS, or the older GATEHOUSE_TRUST_PROXY=true, which means one proxy (the common case
 * of one load balancer that appends to X-Forwarded-For).
 */
function readTrustedHops(env: Env): number {
  const legacy = readBoolean(env, 'GATEHOUSE_TRUST_PROXY', false);
  if (env.GATEHOUSE_TRUST_PROXY_HOPS === undefined || env.GATEHOUSE_TRUST_PROXY_HOPS.trim() === '') return legacy ? 1 : 0;
  const hops = readInteger(env, 'GATEHOUSE_TRUST_PROXY_HOPS', 0, 0, 16);
  if (env.GATEHOUSE_TRUST_PROXY !== undefined && env.GATEHOUSE_TRUST_PROXY.trim() !== '' && legacy !== hops > 0) {
    throw new ConfigError('GATEHOUSE_TRUST_PROXY', `contradicts GATEHOUSE_TRUST_PROXY_HOPS=${hops}; set only GATEHOUSE_TRUST_PROXY_HOPS`);
  }
  return hops;
}

function readLogLevel(env: Env): LogLevel {
  const raw = env.GATEHOUSE_LOG_LEVEL?.trim().toLowerCase();
  if (raw === undefined || raw === '') return 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(raw)) {
    throw new ConfigError('GATEHOUSE_LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(env.GATEHOUSE_LOG_LEVEL)}`);
  }
  return raw as LogLevel;
}

/** GATEHOUSE_METRICS_PORT turns the metrics listener on; it may not be the public port. */
function readMetrics(env: Env, publicPort: number, publicHost: string): Config['metrics'] {
  const hostRaw = env.GATEHOUSE_METRICS_HOST?.trim();
  const clientLabels = readBoolean(env, 'GATEHOUSE_METRICS_CLIENT_LABELS', true);
  if (env.GATEHOUSE_METRICS_PORT === undefined || env.GATEHOUSE_METRICS_PORT.trim() === '') return undefined;
  const port = readInteger(env, 'GATEHOUSE_METRICS_PORT', 0, 0, 65_535);
  const host = hostRaw || '127.0.0.1';
  if (isIP(host) === 0 && host !== 'localhost') throw new ConfigError('GATEHOUSE_METRICS_HOST', `must be an IP address, got ${JSON.stringify(host)}`);
  if (port !== 0 && port === publicPort && (host === publicHost || host === '0.0.0.0' || publicHost === '0.0.0.0')) {
    throw new ConfigError('GATEHOUSE_METRICS_PORT', `must differ from PORT (${publicPort}): metrics are never served on the public port`);
  }
  return { port, host, clientLabels };
}

const DAY = 86_400;
const YEAR = 365 * DAY;

export function loadConfig(env: Env): Config {
  const port = readInteger(env, 'PORT', 4000, 0, 65_535);
  const host = env.HOST?.trim() || '127.0.0.1';
  if (isIP(host) === 0 && !/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(host)) {
    throw new ConfigError('HOST', `must be an IP address or a host name, got ${JSON.stringify(host)}`);
  }
  const issuer = env.GATEHOUSE_ISSUER?.trim() ? validateIssuer(env.GATEHOUSE_ISSUER.trim()) : undefined;
  const database = parseDatabaseUrl(env.DATABASE_URL?.trim() || 'sqlite:data/gatehouse.sqlite', env);

  const accessTokenTtlSeconds = readInteger(env, 'GATEHOUSE_ACCESS_TOKEN_TTL', 300, 1, 3600);
  const sessionMaxAgeSeconds = readInteger(env, 'GATEHOUSE_SESSION_MAX_AGE', 30 * DAY, 1, 10 * YEAR);
  const refreshTokenTtlSeconds = readInteger(env, 'GATEHOUSE_REFRESH_TOKEN_TTL', 14 * DAY, 1, 10 * YEAR);
  const refreshGraceSeconds = readInteger(env, 'GATEHOUSE_REFRESH_GRACE_SECONDS', 0, 0, 300);

  const alg = env.GATEHOUSE_SIGNING_ALG?.trim() || 'ES256';
  if (!(SIGNING_ALGS as readonly string[]).includes(alg)) {
    throw new ConfigError('GATEHOUSE_SIGNING_ALG', `must be one of ${SIGNING_ALGS.join(', ')}, got ${JSON.stringify(alg)}`);
  }

  const keyRotationIntervalSeconds = readInteger(env, 'GATEHOUSE_KEY_ROTATION_INTERVAL', 7 * DAY, 1, 10 * YEAR);
  const jwksMaxAgeSeconds = readInteger(env, 'GATEHOUSE_JWKS_MAX_AGE', 600, 0, DAY);
  const clockLeewaySeconds = readInteger(env, 'GATEHOUSE_CLOCK_LEEWAY', 30, 0, 600);

  return Object.freeze({
    port,
    host,
    issuer,
    database,
    accessTokenTtlSeconds,
    refreshTokenTtlSeconds,
    sessionMaxAgeSeconds,
    refreshGraceSeconds,
    // RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes is RECOMMENDED."
    authorizationCodeTtlSeconds: readInteger(env, 'GATEHOUSE_AUTHORIZATION_CODE_TTL', 60, 1, 600),
    signingAlg: alg as SigningAlg,
    keySecrets: parseKeySecrets(env.GATEHOUSE_KEY_SECRETS),
    keysDir: env.GATEHOUSE_KEYS_DIR?.trim() || 'keys',
    argon2MemoryKib: readInteger(env, 'GATEHOUSE_ARGON2_MEMORY_KIB', 19_456, 8, 4 * 1024 * 1024),
    argon2Iterations: readInteger(env, 'GATEHOUSE_ARGON2_ITERATIONS', 2, 1, 100),
    keyRotationIntervalSeconds,
    jwksMaxAgeSeconds,
    clockLeewaySeconds,
    trustProxyHops: readTrustedHops(env),
    janitorIntervalSeconds: readInteger(env, 'GATEHOUSE_JANITOR_INTERVAL', 600, 0, DAY),
    eventRetentionSeconds: readInteger(env, 'GATEHOUSE_EVENT_RETENTION_SECONDS', 7 * DAY, 60, YEAR),
    // Below the server's 30 s request timeout and the usual proxy idle timeouts (60 s).
    ssfPollWaitSeconds: readInteger(env, 'GATEHOUSE_SSF_POLL_WAIT_SECONDS', 25, 1, 55),
    ssfInactivityTimeoutSeconds: readInteger(env, 'GATEHOUSE_SSF_INACTIVITY_TIMEOUT_SECONDS', DAY, 60, YEAR),
    ssfPush: readPush(env),
    workers: readInteger(env, 'GATEHOUSE_WORKERS', 1, 1, 64),
    lockout: {
      perUserAndAddress: readInteger(env, 'GATEHOUSE_LOCKOUT_THRESHOLD', 5, 1, 1000),
      perAddress: readInteger(env, 'GATEHOUSE_LOCKOUT_IP_THRESHOLD', 50, 1, 100_000),
      perUser: readInteger(env, 'GATEHOUSE_LOCKOUT_USER_THRESHOLD', 20, 1, 10_000),
      maxDelaySeconds: readInteger(env, 'GATEHOUSE_LOCKOUT_MAX_SECONDS', 900, 1, DAY),
    },
    loginConcurrency: {
      perUser: readInteger(env, 'GATEHOUSE_LOGIN_CONCURRENCY_USER', 2, 1, 1000),
      perAddress: readInteger(env, 'GATEHOUSE_LOGIN_CONCURRENCY_IP', 16, 1, 100_000),
    },
    argon2QueueMax: readInteger(env, 'GATEHOUSE_ARGON2_QUEUE_MAX', 128, 0, 100_000),
    logLevel: readLogLevel(env),
    metrics: readMetrics(env, port, host),
  });
}

function readPush(env: Env): Config['ssfPush'] {
  const backoffBaseMs = readInteger(env, 'GATEHOUSE_SSF_PUSH_BACKOFF_MS', 1000, 1, 3_600_000);
  const backoffMaxMs = readInteger(env, 'GATEHOUSE_SSF_PUSH_BACKOFF_MAX_SECONDS', 300, 1, DAY) * 1000;
  if (backoffMaxMs < backoffBaseMs) throw new ConfigError('GATEHOUSE_SSF_PUSH_BACKOFF_MAX_SECONDS', 'must not be shorter than GATEHOUSE_SSF_PUSH_BACKOFF_MS');
  return {
    maxAttempts: readInteger(env, 'GATEHOUSE_SSF_PUSH_MAX_ATTEMPTS', 10, 1, 1000),
    backoffBaseMs,
    backoffMaxMs,
    timeoutMs: readInteger(env, 'GATEHOUSE_SSF_PUSH_TIMEOUT_MS', 10_000, 100, 60_000),
  };
}

/** The issuer when GATEHOUSE_ISSUER is unset: http://localhost:<the port actually bound>. */
export function resolveIssuer(config: Config, boundPort: number): string {
  return config.issuer ?? `http://localhost:${boundPort}`;
}
