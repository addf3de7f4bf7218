/**
 * The issuer under test: a database prepared and seeded here, then `node dist/main.js` started on it as a child
 * process, exactly as `npm start` runs it (PORT=0, default settings, the default Argon2id parameters).
 *
 * Seeding goes through the issuer's own code where it matters and straight into the tables where volume does:
 * - the schema comes from the issuer's migrations (openRuntime), the signing keys from its key manager
 *   (openKeys + maintain), the clients from registerClient, the login user's hash from its PasswordHasher at the
 *   configured (default) parameters;
 * - the N preloaded sessions, their users and the refresh-token chains are rows inserted in one transaction
 *   (better-sqlite3 on SQLite, batched knex inserts on PostgreSQL), shaped as the password grant writes them.
 *
 * Access tokens for the introspection pools are real tokens signed with the issuer's current key: the steady
 * pools through the issuer's own signAccessToken (jose), the large never-seen pool with node:crypto directly
 * (same header, same claims in the same order, ~40,000 signatures/s instead of ~10,000).
 */
import { constants, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import knexFactory from 'knex';
import { openKeys, openRuntime, type Runtime } from '../../dist/boot.js';
import { registerClient } from '../../dist/clients/register.js';
import { loadConfig, type Config } from '../../dist/config.js';
import type { KeyManager, SigningKey } from '../../dist/keys/key-manager.js';
import { systemClock } from '../../dist/lib/clock.js';
import { randomToken, sha256Hex } from '../../dist/lib/crypto.js';
import { uuidv4, uuidv7 } from '../../dist/lib/ids.js';
import { silentLogger } from '../../dist/lib/log.js';
import { PasswordHasher } from '../../dist/passwords/argon2.js';
import { signAccessToken } from '../../dist/tokens/access-token.js';
import { childEnv, startChild, type Child } from './proc.js';

/** A port free at this moment on 127.0.0.1 (for a child that does not say which port it took). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export const API = 'https://api.bench.test';
/** The scopes of every bench client and token: the example API's, so scenario 7 can use the same tokens. */
const SCOPE = 'notes:read notes:write';
/** The start line, inside a JSON log line: {"level":"info",…,"msg":"Gatehouse issuer … listening on host:port"}. */
const START_LINE = /Gatehouse issuer (\S+) listening on ([^\s"]+):(\d+)/;
/** "metrics on http://…/metrics", or "metrics of all N workers on http://…/metrics" from a cluster primary. */
const METRICS_LINE = /metrics (?:of all \d+ workers )?on (http:\/\/[^\s"]+\/metrics)/;

export interface SeedOptions {
  /** Sessions preloaded before the issuer starts (live and ended). */
  sessions: number;
  /** Refresh-token chains to prepare: one per connection and per run that rotates them. */
  chains: number;
  /** `sqlite` (a temp file) or a postgres:// URL (a fresh schema in that database, dropped afterwards). */
  db: string;
  /** Node options for the issuer child (--cpu-prof …). */
  nodeArgs: string[];
  /** More issuer configuration (GATEHOUSE_WORKERS). */
  env: Record<string, string>;
  root: string;
}

export interface SessionRef {
  sid: string;
  sub: string;
}

export interface Issuer {
  url: string;
  issuer: string;
  child: Child;
  dialect: 'sqlite' | 'postgres';
  /** Basic credentials (header values) of the resource server, the first-party app and the service client. */
  auth: { rs: string; app: string; svc: string };
  /** The resource server's credentials, for the example API of scenario 7 (passed to it in its environment). */
  rs: { id: string; secret: string };
  /** A Shared Signals receiver client (`clients create --receiver`): the example API's event mode polls with it. */
  events: { id: string; secret: string };
  /** A client_credentials client with `gatehouse:admin`, for the admin API (DELETE /admin/sessions/:sid). */
  admin: { id: string; secret: string };
  /** GET this for the first instance's Prometheus metrics, when it announced them (GATEHOUSE_METRICS_PORT). */
  metricsUrl: string | undefined;
  /** The form body of a correct password login. */
  loginBody: string;
  live: SessionRef[];
  ended: SessionRef[];
  /** Preparation timings, ms. */
  timings: Record<string, number>;
  /** Tokens signed by the issuer's own signAccessToken, one per session, cycling over `sessions`. */
  signPool(sessions: readonly SessionRef[], count: number): Promise<string[]>;
  /** Tokens signed with node:crypto and the issuer's key, one per session in turn. */
  signFast(sessions: readonly SessionRef[], count: number): string[];
  /** Refresh tokens never used, each the head of a chain of its own. */
  takeChain(): string | undefined;
  chainsLeft(): number;
  /**
   * Another issuer process on the same database (a second instance), with `env` in place of the run's own extra
   * configuration: to measure the same scenario under another configuration. Stop it before the next scenario.
   */
  startInstance(env: Record<string, string>): Promise<{ url: string; child: Child; stop(): Promise<unknown> }>;
  /** Stops the child (if running) and removes the database. */
  close(): Promise<void>;
}

export class IssuerRefused extends Error {
  override readonly name = 'IssuerRefused';
}

const basic = (id: string, secret: string) => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');

interface Rows {
  users: Array<{ id: string; username: string; username_key: string; password_hash: string; created_at: number; disabled_at: null }>;
  sessions: Array<{
    id: string;
    user_id: string;
    client_id: string;
    scope: string;
    audience: string;
    created_at: number;
    expires_at: number;
    ended_at: number | null;
    end_reason: string | null;
  }>;
  refreshTokens: Array<{ token_hash: string; session_id: string; created_at: number; expires_at: number; rotated_at: null }>;
}

/** A fresh PostgreSQL schema; its search_path goes in the connection string, as the test suite does it. */
async function freshSchema(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `gh_bench_${randomToken(6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
  const admin = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.destroy();
  }
  const url = new URL(adminUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    async drop() {
      const cleanup = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
      try {
        await cleanup.raw(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await cleanup.destroy();
      }
    },
  };
}

/** node:crypto signing with the issuer's key: the JWS of RFC 7515 for the four algorithms the issuer supports. */
function rawSigner(key: SigningKey): (input: Buffer) => Buffer {
  const privateKey: KeyObject = key.privateKey;
  switch (key.alg) {
    case 'ES256':
      return (input) => sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    case 'RS256':
      return (input) => sign('sha256', input, privateKey);
    case 'PS256':
      return (input) => sign('sha256', input, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    case 'EdDSA':
      return (input) => sign(null, input, privateKey);
    default:
      throw new Error(`no fast signer for ${key.alg}`);
  }
}

export async function startIssuer(options: SeedOptions): Promise<Issuer> {
  const timings: Record<string, number> = {};
  const time = async <T>(name: string, work: () => Promise<T> | T): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      timings[name] = Math.round(performance.now() - started);
    }
  };

  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const dialect: 'sqlite' | 'postgres' = options.db === 'sqlite' ? 'sqlite' : 'postgres';
  let dropSchema: (() => Promise<void>) | undefined;
  let runtime: Runtime | undefined;
  let keys: KeyManager | undefined;
  let child: Child | undefined;
  const cleanup = async () => {
    await child?.stop();
    keys?.stop();
    await runtime?.close().catch(() => {});
    await dropSchema?.().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    let databaseUrl: string;
    if (dialect === 'sqlite') {
      databaseUrl = `sqlite:${join(dir, 'gatehouse.sqlite')}`;
    } else {
      try {
        const schema = await freshSchema(options.db);
        dropSchema = schema.drop;
        databaseUrl = schema.url;
      } catch (error) {
        throw new IssuerRefused(`cannot prepare a schema in ${new URL(options.db).host}: ${(error as Error).message}`);
      }
    }
    // The issuer's configuration, defaults everywhere but the database, the keys folder and the port.
    const env = { DATABASE_URL: databaseUrl, GATEHOUSE_KEYS_DIR: join(dir, 'keys'), HOST: '127.0.0.1', PORT: '0' };
    let config: Config;
    try {
      config = loadConfig(env);
      runtime = await time('migrate', () => openRuntime(config));
    } catch (error) {
      throw new IssuerRefused(`the issuer refused DATABASE_URL (${(error as Error).message})`);
    }
    const store = runtime.store;
    const now = systemClock.now();
    keys = await time('keys', async () => {
      const manager = await openKeys(config, store, systemClock, silentLogger);
      await manager.maintain(); // the first signing key, as the first start of the server makes it
      return manager;
    });

    // Clients, through the issuer's own registration.
    const [rs, app, svc, events, admin] = await time('clients', async () => [
      await registerClient(store, { id: 'bench-rs', audiences: [API], introspect: true }, now),
      await registerClient(store, { id: 'bench-app', grantTypes: ['password', 'refresh_token'], scope: SCOPE, audiences: [API] }, now),
      await registerClient(store, { id: 'bench-svc', grantTypes: ['client_credentials'], scope: SCOPE, audiences: [API] }, now),
      await registerClient(store, { id: 'bench-events', receiver: true }, now),
      await registerClient(store, { id: 'bench-admin', grantTypes: ['client_credentials'], scope: 'gatehouse:admin' }, now),
    ]);

    // One real Argon2id hash at the configured (default) parameters; every seeded user shares it.
    const password = randomToken(18);
    const passwordHash = await time('argon2-hash', () =>
      new PasswordHasher({ memoryKib: config.argon2MemoryKib, iterations: config.argon2Iterations }).hash(password),
    );

    const rows: Rows = { users: [], sessions: [], refreshTokens: [] };
    const live: SessionRef[] = [];
    const ended: SessionRef[] = [];
    const chains: string[] = [];
    const maxAge = config.sessionMaxAgeSeconds;
    const addUser = (username: string) => {
      const id = uuidv4();
      rows.users.push({ id, username, username_key: username.toLowerCase(), password_hash: passwordHash, created_at: now - 86_400, disabled_at: null });
      return id;
    };
    addUser('bench-login');
    const total = options.sessions + options.chains;
    const endedCount = Math.min(1000, Math.floor(options.sessions / 10));
    const userCount = Math.max(1, Math.ceil(total / 10));
    const userIds: string[] = [];
    for (let i = 0; i < userCount; i++) userIds.push(addUser(`bench-user-${i}`));
    const startMs = Date.now() - total * 10;
    for (let i = 0; i < total; i++) {
      const createdMs = startMs + i * 10;
      const created = Math.floor(createdMs / 1000);
      const sid = uuidv7(createdMs);
      const userId = userIds[i % userCount]!;
      const isChain = i >= options.sessions;
      const isEnded = !isChain && i % 10 === 5 && ended.length < endedCount;
      rows.sessions.push({
        id: sid,
        user_id: userId,
        client_id: 'bench-app',
        scope: SCOPE,
        audience: API,
        created_at: created,
        expires_at: created + maxAge,
        ended_at: isEnded ? now : null,
        end_reason: isEnded ? 'admin' : null,
      });
      if (isChain) {
        const token = randomToken(32);
        chains.push(token);
        rows.refreshTokens.push({
          token_hash: sha256Hex(token),
          session_id: sid,
          created_at: created,
          expires_at: Math.min(now + config.refreshTokenTtlSeconds, created + maxAge),
          rotated_at: null,
        });
      } else {
        (isEnded ? ended : live).push({ sid, sub: userId });
      }
    }

    await time('preload', async () => {
      if (dialect === 'sqlite') {
        const db = new Database((config.database as { filename: string }).filename);
        try {
          db.pragma('busy_timeout = 5000');
          db.pragma('foreign_keys = ON');
          const insertUser = db.prepare(
            'INSERT INTO users (id, username, username_key, password_hash, created_at, disabled_at) VALUES (@id, @username, @username_key, @password_hash, @created_at, @disabled_at)',
          );
          const insertSession = db.prepare(
            'INSERT INTO sessions (id, user_id, client_id, scope, audience, created_at, expires_at, ended_at, end_reason) VALUES (@id, @user_id, @client_id, @scope, @audience, @created_at, @expires_at, @ended_at, @end_reason)',
          );
          const insertRefresh = db.prepare(
            'INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at, rotated_at) VALUES (@token_hash, @session_id, @created_at, @expires_at, @rotated_at)',
          );
          db.transaction(() => {
            for (const row of rows.users) insertUser.run(row);
            for (const row of rows.sessions) insertSession.run(row);
            for (const row of rows.refreshTokens) insertRefresh.run(row);
          })();
          // Into the main file: the issuer starts on a database at rest, not on a WAL full of seed pages.
          db.pragma('wal_checkpoint(TRUNCATE)');
        } finally {
          db.close();
        }
      } else {
        await runtime!.db.transaction(async (trx) => {
          await trx.batchInsert('users', rows.users, 1000);
          await trx.batchInsert('sessions', rows.sessions, 1000);
          await trx.batchInsert('refresh_tokens', rows.refreshTokens, 1000);
        });
      }
    });

    // The bench keeps the keys it signs with in memory; its connection closes before the issuer opens its own.
    const closing = runtime;
    runtime = undefined;
    await closing.close();

    const spawnIssuer = (name: string, nodeArgs: string[], extraEnv: Record<string, string>, probe?: () => Promise<RegExpExecArray | undefined>) =>
      startChild({
        name,
        args: [...nodeArgs, join(options.root, 'dist', 'main.js')],
        env: childEnv({ ...env, ...extraEnv }),
        cwd: dir,
        ready: START_LINE,
        probe,
      }).catch((error: Error & { tail?: string[] }) => {
        const last = (error.tail ?? []).filter((line) => line.trim() !== '').slice(-3).join(' | ');
        throw new IssuerRefused(`the issuer did not start (${last || error.message})`);
      });
    child = await time('start', () => spawnIssuer('issuer', options.nodeArgs, options.env));
    const [, issuer, host, port] = child.ready;
    const url = `http://${host}:${port}`;
    // Logged just before the start line, so still in the child's last lines (a cluster primary words it differently).
    const metricsUrl = child.tail().map((line) => METRICS_LINE.exec(line)?.[1]).find((found) => found !== undefined);

    const signingKey = keys.signingKey();
    const signRaw = rawSigner(signingKey);
    const header = Buffer.from(JSON.stringify({ alg: signingKey.alg, kid: signingKey.kid, typ: 'at+jwt' })).toString('base64url');
    const claimsFor = (session: SessionRef, at: number) => ({
      iss: issuer!,
      sub: session.sub,
      aud: API,
      exp: at + config.accessTokenTtlSeconds,
      iat: at,
      client_id: 'bench-app',
      scope: SCOPE,
      sid: session.sid,
    });

    const handle: Issuer = {
      url,
      issuer: issuer!,
      child,
      dialect,
      auth: { rs: basic(rs!.record.id, rs!.secret), app: basic(app!.record.id, app!.secret), svc: basic(svc!.record.id, svc!.secret) },
      rs: { id: rs!.record.id, secret: rs!.secret },
      events: { id: events!.record.id, secret: events!.secret },
      admin: { id: admin!.record.id, secret: admin!.secret },
      metricsUrl,
      loginBody: `grant_type=password&username=bench-login&password=${password}`,
      live,
      ended,
      timings,
      async signPool(sessions, count) {
        const at = systemClock.now();
        const tokens: string[] = [];
        for (let i = 0; i < count; i++) tokens.push((await signAccessToken(signingKey, claimsFor(sessions[i % sessions.length]!, at))).token);
        return tokens;
      },
      signFast(sessions, count) {
        const at = systemClock.now();
        const tokens: string[] = new Array(count);
        for (let i = 0; i < count; i++) {
          // The claims in the order signAccessToken writes them, jti last.
          const payload = Buffer.from(JSON.stringify({ ...claimsFor(sessions[i % sessions.length]!, at), jti: randomToken(16) })).toString('base64url');
          const input = `${header}.${payload}`;
          tokens[i] = `${input}.${signRaw(Buffer.from(input)).toString('base64url')}`;
        }
        return tokens;
      },
      takeChain: () => chains.pop(),
      chainsLeft: () => chains.length,
      async startInstance(extraEnv) {
        // At GATEHOUSE_LOG_LEVEL=warn the issuer does not announce that it listens: the instance gets a free port
        // of its own and is ready once /readyz answers 200 there. It is the same issuer (the tokens' iss) as the
        // first instance, as every instance behind one balancer is.
        const port = await freePort();
        const probe = async () => {
          const answer = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
          await answer.arrayBuffer();
          if (answer.status !== 200) return undefined;
          return Object.assign([`listening on 127.0.0.1:${port}`, issuer!, '127.0.0.1', String(port)], { index: 0, input: '' }) as RegExpExecArray;
        };
        const other = await spawnIssuer('issuer (second instance)', [], { ...extraEnv, GATEHOUSE_ISSUER: issuer!, HOST: '127.0.0.1', PORT: String(port) }, probe);
        const [, , otherHost, otherPort] = other.ready;
        return { url: `http://${otherHost}:${otherPort}`, child: other, stop: () => other.stop() };
      },
      close: cleanup,
    };
    return handle;
  } catch (error) {
    await cleanup();
    throw error;
  }
}
