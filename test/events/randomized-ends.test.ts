/**
 * Issue #12, "Done when" (first item): a randomized run of every way a token can end, interleaved with calls to an
 * API in event mode, with the issuer killed (SIGKILL) and restarted on the same port and database in the middle.
 *
 * The cast: a real issuer process behind the counting proxy (its issuer identifier is the proxy, so the API's
 * every call to the issuer is counted and survives the restart, which keeps the port); an API in this process on
 * `createResourceServer({ events })`, long polling a stream of its own; a plain RFC 8936 poller written here with
 * fetch, on a stream of its own; many users and sessions (password logins).
 *
 * The model (below): a token ends when a *cause* concerning it committed: its session ended (admin API, logout
 * by revoking the refresh token, or a password change or a disable of its user, which end every session of the
 * user), its jti revoked at /revoke, or its signing key revoked. Re-enabling a user revives nothing; a signing-key
 * rotation alone ends nothing. Each cause records when it was started and when its answer arrived (the commit is
 * before that); an HTTP end in flight at the kill is looked up in the database after the restart, and if it
 * committed, it counts as committed at the kill.
 *
 * The check: no API call that started later than (commit + the documented bound) was answered 200 for a token
 * the cause concerns; no token was refused before any cause of it was even started; 503 while the issuer is down
 * (fail closed); every token never ended is accepted again afterwards, from the cache (so that the check cannot
 * pass by refusing everything, or by never caching); every committed change has its event, and both receivers
 * got every event across the restart.
 *
 * Replay: the seed is in every failure message; `RANDOMIZED_ENDS_SEED=<seed> npx ava test/events/randomized-ends.test.ts`
 * (with GATEHOUSE_TEST_DIALECT=postgres and TEST_DATABASE_URL for PostgreSQL, as scripts/test.mjs sets them)
 * replays the same plan and picks. The interleaving of the lanes with each other depends on timing, so a replay
 * is the same run only as far as the machine's timing allows.
 */
import test from 'ava';
import { randomInt } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/lib/log.js';
import { PasswordHasher } from '../../src/passwords/argon2.js';
import { createResourceServer, type ResourceServer, type ResourceServerState } from '../../src/resource-server/index.js';
import { createDatabase } from '../../src/storage/database.js';
import { Store } from '../../src/storage/store.js';
import { createUser } from '../../src/users/accounts.js';
import { DIALECT } from '../helpers/database.js';
import { decodeJwt, postForm, send, type Reply } from '../helpers/http.js';
import { cleanup, eventually, sandbox, type Sandbox, type ServerProcess } from '../helpers/process.js';
import { startProxy, type IssuerProxy } from '../helpers/proxy.js';

test.after.always(cleanup);

// ---------------------------------------------------------------------------------------------------------------
// Sizes and bounds.

const USERS = 16;
const SESSIONS_PER_USER = 5;
/** Actions of the two ending lanes together (ends, refreshes, logins, password changes, disables, the key op). */
const ACTIONS = 44;
const ENDING_LANES = 2;
const API_LANES = 4;

/** The issuer's long-poll wait (GATEHOUSE_SSF_POLL_WAIT_SECONDS) and the API's margin: small, so the bound is. */
const POLL_WAIT_SECONDS = 2;
const POLL_MARGIN_SECONDS = 1;
/**
 * docs/resource-server-and-client.md, "The staleness bound": no request is answered from the cache later than
 * pollWaitSeconds + pollMarginSeconds + 1 s after a change was committed.
 */
const BOUND_MS = (POLL_WAIT_SECONDS + POLL_MARGIN_SECONDS + 1) * 1000;
/**
 * A key revoked with the CLI (another process) reaches the issuer's own key ring when its key-revoked event does
 * (keys/revocation-follower.ts), so a key has the same bound; without that it was KEY_RING_REFRESH_SECONDS.
 */
const KEY_BOUND_MS = BOUND_MS;

const API = 'https://api.randomized.test';
const app = { id: 'app', secret: 'app-0123456789abcdef0123456789abcdef' } as const;
const rs = { id: 'rs', secret: 'rs-0123456789abcdef0123456789abcdef' } as const;
const apiEvents = { id: 'api-events', secret: 'api-events-0123456789abcdef0123456789abcdef' } as const;
const poller = { id: 'plain-poller', secret: 'plain-poller-0123456789abcdef0123456789abcdef' } as const;
const admin = { id: 'ops', secret: 'ops-0123456789abcdef0123456789abcdef' } as const;

const now = (): number => performance.now();

/** mulberry32: small, seedable, good enough to pick actions. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(random: () => number, items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)];

// ---------------------------------------------------------------------------------------------------------------
// The model of token validity.

/** Something that ends tokens: committed at the latest by `committedBy`, refused at the earliest from `startedAt`. */
interface Cause {
  what: string;
  startedAt: number;
  committedBy: number;
  /** How long after the commit the API may still accept: BOUND_MS, or KEY_BOUND_MS for a key. */
  boundMs: number;
}

interface User {
  index: number;
  username: string;
  id: string;
  password: string;
  disabled: boolean;
  /** A user-level action (password, disable, enable, login) is running: one at a time per user. */
  busy: boolean;
}

interface Session {
  sid: string;
  user: User;
  refresh: string;
  /** A refresh was in flight at the kill: the refresh token may be consumed, so it is not used again. */
  refreshUnknown: boolean;
  busy: boolean;
  causes: Cause[];
}

interface Token {
  access: string;
  sid: string;
  jti: string;
  kid: string;
  session: Session;
  causes: Cause[];
}

const causesOf = (token: Token): Cause[] => [...token.session.causes, ...token.causes];
/** The API must refuse the token for calls started after this; Infinity while nothing ended it. */
const deadline = (token: Token): number => Math.min(...causesOf(token).map((cause) => cause.committedBy + cause.boundMs));
/** The API may refuse the token only for calls answered after this. */
const refusableFrom = (token: Token): number => Math.min(...causesOf(token).map((cause) => cause.startedAt));

interface ApiCall {
  token: Token;
  lane: number;
  startedAt: number;
  answeredAt: number;
  status: number;
  sid: string | undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// The API under test, in this process.

async function startApi(issuer: string, logs: string[]): Promise<{ url: string; rs: ResourceServer; close(): Promise<void> }> {
  const resourceServer = createResourceServer({
    issuer,
    clientId: rs.id,
    clientSecret: rs.secret,
    audience: API,
    // Generous: on a busy machine an introspection can be slow, and that is not an outage.
    timeoutMs: 20_000,
    log: createLogger((line) => logs.push(line)),
    events: {
      clientId: apiEvents.id,
      clientSecret: apiEvents.secret,
      pollWaitSeconds: POLL_WAIT_SECONDS,
      pollMarginSeconds: POLL_MARGIN_SECONDS,
      retryDelayMs: 100,
    },
  });
  const koa = new Koa();
  koa.use(resourceServer.requireScopes('read'));
  koa.use((ctx) => {
    ctx.body = { sid: (ctx.state as ResourceServerState).auth.sessionId ?? null };
  });
  const server: Server = createServer(koa.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    rs: resourceServer,
    async close() {
      await resourceServer.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The issuer, which is killed and restarted: every HTTP call goes to `issuer.current`.

interface Issuer {
  current: ServerProcess;
  /** Resolves once the issuer is up again after a kill (at once while it is up). */
  up: Promise<void>;
}

/** A client_credentials token that is fetched again when refused (e.g. once the key that signed it is revoked). */
function bearerOf(issuer: Issuer, who: { id: string; secret: string }, scope: string) {
  let token: string | undefined;
  return {
    async get(): Promise<string> {
      if (token) return token;
      const reply = await postForm(`${issuer.current.url}/token`, { grant_type: 'client_credentials', scope }, { auth: [who.id, who.secret] });
      if (reply.status !== 200) throw new Error(`client_credentials for ${who.id}: ${reply.status} ${reply.text}`);
      return (token = reply.json.access_token as string);
    },
    forget(): void {
      token = undefined;
    },
  };
}

/**
 * The plain receiver: RFC 8936 poll delivery by fetch, from the RFC text (not the project's receiver). It only
 * collects the `txn` (the outbox event id) of every SET delivered, and acknowledges them.
 */
function startPlainPoller(issuer: Issuer, streamId: string) {
  const bearer = bearerOf(issuer, poller, 'ssf.manage ssf.read');
  const received = new Set<number>();
  let stopped = false;
  let ack: string[] = [];
  const running = (async () => {
    while (!stopped) {
      try {
        const reply = await send(`${issuer.current.url}/ssf/poll/${streamId}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${await bearer.get()}`, 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ maxEvents: 100, returnImmediately: false, ...(ack.length > 0 ? { ack } : {}) }),
        });
        if (reply.status === 401) bearer.forget();
        if (reply.status !== 200) throw new Error(`poll answered ${reply.status}`);
        ack = [];
        for (const [jti, set] of Object.entries(reply.json.sets as Record<string, string>)) {
          received.add(Number(decodeJwt(set).payload.txn));
          ack.push(jti);
        }
      } catch {
        // The issuer is down (or was killed under this poll): the acks go with the next poll, or the SETs come
        // again (RFC 8936 §2.4); either way nothing is lost, which is what is checked.
        if (!stopped) await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  })();
  return {
    received,
    async stop() {
      stopped = true;
      await running;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------

const dialectTitle = DIALECT === 'postgres' ? 'PostgreSQL' : 'SQLite';

test(`randomized ends with kill -9 and restart of the issuer (${dialectTitle}): nothing accepted past the bound, no event lost`, async (t) => {
  // About 20-50 s on a busy 2-core machine (setup 4-8 s, actions 10-20 s, checks 3-5 s); the deadline is generous.
  t.timeout(120_000);
  const seed = Number(process.env.RANDOMIZED_ENDS_SEED ?? randomInt(2 ** 31));
  const tag = `seed ${seed} (replay: RANDOMIZED_ENDS_SEED=${seed}, ${dialectTitle})`;
  t.log(tag);
  const random = rng(seed);
  const testStart = now();
  const mark = (phase: string) => t.log(`${phase} at ${Math.round(now() - testStart)} ms`);

  // --- The world ------------------------------------------------------------------------------------------------
  const proxy: IssuerProxy = await startProxy();
  t.teardown(() => proxy.close());
  const box: Sandbox = await sandbox({
    GATEHOUSE_ISSUER: proxy.issuer,
    GATEHOUSE_SSF_POLL_WAIT_SECONDS: String(POLL_WAIT_SECONDS),
    // Far longer than the test: no token ends by itself, so every end is one of the test's causes.
    GATEHOUSE_ACCESS_TOKEN_TTL: '1800',
  });
  await box.cliJson(['clients', 'create', '--id', app.id, '--secret', app.secret, '--grants', 'password,refresh_token', '--scopes', 'read', '--audience', API]);
  await box.cliJson(['clients', 'create', '--id', rs.id, '--secret', rs.secret, '--audience', API, '--introspect']);
  await box.cliJson(['clients', 'create', '--id', apiEvents.id, '--secret', apiEvents.secret, '--receiver']);
  await box.cliJson(['clients', 'create', '--id', poller.id, '--secret', poller.secret, '--receiver']);
  await box.cliJson(['clients', 'create', '--id', admin.id, '--secret', admin.secret, '--grants', 'client_credentials', '--scopes', 'gatehouse:admin']);

  // The users, written here rather than by 16 CLI processes (the same function the CLI calls).
  const db = createDatabase(loadConfig(box.env).database);
  t.teardown(() => db.destroy());
  const store = new Store(db);
  const hasher = new PasswordHasher({ memoryKib: 64, iterations: 1 });
  const users: User[] = [];
  for (let index = 0; index < USERS; index++) {
    const username = `user-${index}`;
    const password = `password-${index}-0`;
    const record = await createUser(store, hasher, username, password, Math.floor(Date.now() / 1000));
    users.push({ index, username, id: record.id, password, disabled: false, busy: false });
  }

  const issuer: Issuer = { current: await box.start(), up: Promise.resolve() };
  proxy.target = issuer.current.url;
  const port = issuer.current.port;
  mark('issuer started');

  const sessions: Session[] = [];
  const tokens: Token[] = [];
  const addToken = (session: Session, access: string): Token => {
    const { header, payload } = decodeJwt(access);
    const token: Token = { access, sid: payload.sid, jti: payload.jti, kid: header.kid, session, causes: [] };
    tokens.push(token);
    return token;
  };
  const login = async (user: User): Promise<Session> => {
    const reply = await postForm(`${issuer.current.url}/token`, { grant_type: 'password', username: user.username, password: user.password, scope: 'read' }, { auth: [app.id, app.secret] });
    if (reply.status !== 200) throw new Error(`${tag}: login of ${user.username}: ${reply.status} ${reply.text}`);
    const session: Session = { sid: decodeJwt(reply.json.access_token).payload.sid, user, refresh: reply.json.refresh_token, refreshUnknown: false, busy: false, causes: [] };
    sessions.push(session);
    addToken(session, reply.json.access_token);
    return session;
  };
  // Four users at a time (the issuer admits two logins per user at once).
  await Promise.all(
    [0, 1, 2, 3].map(async (lane) => {
      for (let index = lane; index < USERS; index += 4) for (let n = 0; n < SESSIONS_PER_USER; n++) await login(users[index]!);
    }),
  );
  mark('sessions');

  const apiLogs: string[] = [];
  const api = await startApi(proxy.issuer, apiLogs);
  t.teardown(() => api.close());
  // The plain poller's stream is opened before the first end, so it owes every ending event from then on.
  const pollerBearer = bearerOf(issuer, poller, 'ssf.manage ssf.read');
  const created = await send(`${issuer.current.url}/ssf/streams`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await pollerBearer.get()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ delivery: { method: 'urn:ietf:rfc:8936' }, description: 'randomized-ends plain poller' }),
  });
  t.is(created.status, 201, created.text);
  const plainPoller = startPlainPoller(issuer, created.json.stream_id as string);
  t.teardown(() => plainPoller.stop());
  await eventually(async () => (api.rs.eventStreamCurrent() ? true : undefined), 30_000, 'the API event stream to be current', 20);
  const firstEventId = Number((await db('events').max('id as id').first())?.id ?? 0);
  mark('api current');

  // Every token once: all accepted, which also fills the cache.
  for (const token of tokens) {
    const reply = await send(`${api.url}/`, { headers: { authorization: `Bearer ${token.access}` } });
    if (reply.status !== 200) throw new Error(`${tag}: warm-up call for ${token.sid}: ${reply.status} ${reply.text}`);
  }
  const introspectionsBefore = proxy.count('POST', '/introspect');

  // --- The kill and restart ---------------------------------------------------------------------------------------
  let down = false;
  let killedAt = Infinity;
  let distrustedAt = Infinity;
  let restartSpawnedAt = Infinity;
  let restartedAt = Infinity;
  let releaseUp: () => void = () => {};

  // --- The API callers --------------------------------------------------------------------------------------------
  const calls: ApiCall[] = [];
  let calling = true;
  const callApi = async (token: Token, lane: number): Promise<ApiCall> => {
    const startedAt = now();
    let reply: Reply;
    try {
      reply = await send(`${api.url}/`, { headers: { authorization: `Bearer ${token.access}` } });
    } catch (error) {
      throw new Error(`${tag}: the API itself failed: ${String(error)}`);
    }
    const call: ApiCall = { token, lane, startedAt, answeredAt: now(), status: reply.status, sid: reply.json?.sid ?? undefined };
    calls.push(call);
    return call;
  };
  /**
   * Tokens an ending action is about to end, is ending, or ended a moment ago (until when): where a late eviction
   * or a stale answer cached at the wrong moment would show, so a third of the calls go there.
   */
  const focus = new Map<Token, number>();
  const focusOn = (targets: readonly Token[]): (() => void) => {
    for (const token of targets) focus.set(token, Infinity);
    return () => {
      const until = now() + BOUND_MS + 2000;
      for (const token of targets) focus.set(token, until);
    };
  };
  const callerLane = async (lane: number) => {
    const laneRandom = rng(seed + 1000 + lane);
    while (calling) {
      // A third of the calls go to the focus, a third to live tokens (the cache at work), a third to any token.
      const dice = laneRandom();
      const recent = dice < 1 / 3 ? [...focus].filter(([, until]) => until > now()).map(([token]) => token) : [];
      const live = dice >= 1 / 3 && dice < 2 / 3 ? tokens.filter((token) => causesOf(token).length === 0) : [];
      const token = pick(laneRandom, recent.length > 0 ? recent : live.length > 0 ? live : tokens)!;
      await callApi(token, lane);
      // Pacing, not waiting for anything: leaves CPU to the issuer and the CLI on a 2-core machine.
      await new Promise((resolve) => setTimeout(resolve, 2 + Math.floor(laneRandom() * 8)));
    }
  };
  const callers = Array.from({ length: API_LANES }, (_, lane) => callerLane(lane));
  t.teardown(() => void (calling = false));

  // --- The ending lanes ---------------------------------------------------------------------------------------------
  const adminBearer = bearerOf(issuer, admin, 'gatehouse:admin');
  type Kind = 'admin-end' | 'logout' | 'revoke-access' | 'refresh' | 'login' | 'password' | 'disable' | 'enable' | 'key';
  const mix: Array<[Kind, number]> = [
    ['admin-end', 9],
    ['logout', 7],
    ['revoke-access', 7],
    ['refresh', 6],
    ['login', 5],
    ['password', 3],
    ['disable', 3],
    ['enable', 3],
  ];
  const plan: Kind[] = mix.flatMap(([kind, count]) => Array.from({ length: count }, () => kind));
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [plan[i], plan[j]] = [plan[j]!, plan[i]!];
  }
  // The key rotation and revocation: somewhere in the middle, before or after the kill as the seed has it, with
  // enough actions after it for new sessions and refreshes to carry tokens signed by the new key.
  plan.splice(6 + Math.floor(random() * (ACTIONS - 20)), 0, 'key');
  plan.length = ACTIONS;
  const killAfter = Math.floor(ACTIONS * (0.35 + random() * 0.25));
  let answeredEnds = 0;
  let nextAction = 0;
  const inFlightHttp = new Set<string>();

  /** HTTP ends whose answer was lost at the kill: looked up in the database after the restart. */
  const unknown: Array<{ kind: Kind; startedAt: number; session?: Session; token?: Token }> = [];
  const actionLog: string[] = [];

  /** Sends an HTTP action to the issuer once it is up; undefined if the issuer died under it. */
  const http = async (label: string, request: () => Promise<Reply>): Promise<Reply | undefined> => {
    await issuer.up;
    inFlightHttp.add(label);
    try {
      return await request();
    } catch (error) {
      // `down` is set before the kill: a request that fails while it is not set failed on a running issuer.
      if (!down) throw new Error(`${tag}: ${label} failed while the issuer was up: ${String(error)}`);
      return undefined;
    } finally {
      inFlightHttp.delete(label);
    }
  };
  const adminDelete = async (sid: string): Promise<Reply | undefined> => {
    for (;;) {
      const token = await adminBearer.get().catch((error: unknown) => {
        if (!down) throw error;
        return undefined;
      });
      if (token === undefined) {
        await issuer.up;
        continue;
      }
      const reply = await http(`admin end ${sid}`, () => send(`${issuer.current.url}/admin/sessions/${sid}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } }));
      // The admin token's key was revoked: a new token, and the end was not made.
      if (reply?.status === 401) {
        adminBearer.forget();
        continue;
      }
      return reply;
    }
  };
  /** `gatehouse …args --json`; `--json` goes before a `--` (after which everything is positional). */
  const cli = async (args: string[]): Promise<any> => {
    const end = args.indexOf('--');
    const result = await box.cli(end === -1 ? [...args, '--json'] : [...args.slice(0, end), '--json', ...args.slice(end)]);
    if (result.code !== 0) throw new Error(`${tag}: gatehouse ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
    return JSON.parse(result.stdout);
  };

  const freeSessions = (alive: boolean) =>
    sessions.filter((session) => !session.busy && !session.user.busy && (session.causes.length === 0) === alive);
  const endSessionCause = (session: Session, what: string, startedAt: number, committedBy: number) =>
    session.causes.push({ what, startedAt, committedBy, boundMs: BOUND_MS });
  const endUserCause = (user: User, what: string, startedAt: number, committedBy: number) => {
    for (const session of sessions) if (session.user === user) endSessionCause(session, what, startedAt, committedBy);
  };

  /**
   * A new access token for the session (signed by the current key), and the next refresh token. A refusal is fine
   * only when something may have ended the session meanwhile (a password change or disable of its user runs).
   */
  const refresh = async (session: Session): Promise<void> => {
    if (session.busy || session.refreshUnknown || session.causes.length > 0) return;
    session.busy = true;
    try {
      const reply = await http(`refresh ${session.sid}`, () => postForm(`${issuer.current.url}/token`, { grant_type: 'refresh_token', refresh_token: session.refresh }, { auth: [app.id, app.secret] }));
      if (reply === undefined) session.refreshUnknown = true;
      else if (reply.status === 200) {
        session.refresh = reply.json.refresh_token;
        addToken(session, reply.json.access_token);
      } else if (session.causes.length === 0 && !session.user.busy && !unknown.some((lost) => lost.session === session)) throw new Error(`${tag}: refresh of live ${session.sid} answered ${reply.status} ${reply.text}`);
      actionLog.push(`refresh ${session.sid} ${reply?.status ?? 'lost'}`);
    } finally {
      session.busy = false;
    }
  };

  let firstKid: string | undefined;
  let revokedKid: string | undefined;
  let lastKid: string | undefined;
  /** `gatehouse keys rotate --now`, then waits until the running issuer signs with the new key (its ring is re-read every 2 s). */
  const rotate = async (): Promise<string> => {
    const kid = (await cli(['keys', 'rotate', '--now'])).current as string;
    await eventually(
      async () => {
        const reply = await postForm(`${issuer.current.url}/token`, { grant_type: 'client_credentials', scope: 'gatehouse:admin' }, { auth: [admin.id, admin.secret] }).catch(() => undefined);
        return reply?.status === 200 && decodeJwt(reply.json.access_token).header.kid === kid ? true : undefined;
      },
      60_000,
      'the issuer to sign with the new key',
      50,
    );
    return kid;
  };

  const act = async (kind: Kind, laneRandom: () => number): Promise<void> => {
    const startedAt = now();
    switch (kind) {
      case 'admin-end':
      case 'logout': {
        // Mostly live sessions; now and then one already ended (an end of an ended session changes nothing).
        // (A logout with a refresh token rotated since still logs out: revoke.ts.)
        const session = pick(laneRandom, freeSessions(laneRandom() < 0.9));
        if (!session) return;
        session.busy = true;
        const unfocus = focusOn(tokens.filter((token) => token.session === session));
        try {
          const reply =
            kind === 'admin-end'
              ? await adminDelete(session.sid)
              : await http(`logout ${session.sid}`, () => postForm(`${issuer.current.url}/revoke`, { token: session.refresh, token_type_hint: 'refresh_token' }, { auth: [app.id, app.secret] }));
          if (reply === undefined) unknown.push({ kind, startedAt, session });
          else if (reply.status === (kind === 'admin-end' ? 204 : 200)) endSessionCause(session, `${kind} of ${session.sid}`, startedAt, now());
          else throw new Error(`${tag}: ${kind} of ${session.sid} answered ${reply.status} ${reply.text}`);
          actionLog.push(`${kind} ${session.sid} ${reply?.status ?? 'lost'}`);
        } finally {
          session.busy = false;
          unfocus();
        }
        return;
      }
      case 'revoke-access': {
        // Mostly live tokens: revoking one that is no longer active changes nothing (revoke.ts), which is fine too.
        const wantLive = laneRandom() < 0.85;
        const token = pick(laneRandom, tokens.filter((candidate) => !candidate.causes.some((cause) => cause.what.startsWith('revoke-access')) && (causesOf(candidate).length === 0) === wantLive));
        if (!token) return;
        const unfocus = focusOn([token]);
        const reply = await http(`revoke ${token.jti}`, () => postForm(`${issuer.current.url}/revoke`, { token: token.access, token_type_hint: 'access_token' }, { auth: [app.id, app.secret] }));
        if (reply === undefined) unknown.push({ kind, startedAt, token });
        else if (reply.status === 200) token.causes.push({ what: `revoke-access of ${token.jti}`, startedAt, committedBy: now(), boundMs: BOUND_MS });
        else throw new Error(`${tag}: revoke of ${token.jti} answered ${reply.status} ${reply.text}`);
        actionLog.push(`revoke-access ${token.jti} ${reply?.status ?? 'lost'}`);
        unfocus();
        return;
      }
      case 'refresh': {
        const session = pick(laneRandom, freeSessions(true).filter((candidate) => !candidate.refreshUnknown));
        if (session) await refresh(session);
        return;
      }
      case 'login': {
        const user = pick(laneRandom, users.filter((candidate) => !candidate.busy && !candidate.disabled));
        if (!user) return;
        user.busy = true;
        try {
          await issuer.up;
          const session = await login(user).catch((error: unknown) => {
            if (!down) throw error;
            return undefined; // died under the kill: a session the test does not know may exist, which is harmless
          });
          actionLog.push(`login ${user.username} ${session?.sid ?? 'lost'}`);
        } finally {
          user.busy = false;
        }
        return;
      }
      case 'password':
      case 'disable':
      case 'enable': {
        const user = pick(laneRandom, users.filter((candidate) => !candidate.busy && (kind === 'enable' ? candidate.disabled : !candidate.disabled)));
        if (!user) return;
        user.busy = true;
        const unfocus = focusOn(tokens.filter((token) => token.session.user === user));
        try {
          // The CLI, as an operator does it: another process, which works while the issuer is down too.
          if (kind === 'password') {
            const password = `password-${user.index}-${Math.floor(laneRandom() * 1e9)}`;
            await cli(['users', 'set-password', user.username, '--password', password]);
            user.password = password;
            endUserCause(user, `password change of ${user.username}`, startedAt, now());
          } else if (kind === 'disable') {
            await cli(['users', 'disable', user.username]);
            user.disabled = true;
            endUserCause(user, `disable of ${user.username}`, startedAt, now());
          } else {
            // Re-enabling revives nothing: the disable ended the sessions, and the model keeps them ended.
            await cli(['users', 'enable', user.username]);
            user.disabled = false;
          }
          actionLog.push(`${kind} ${user.username}`);
        } finally {
          user.busy = false;
          unfocus();
        }
        return;
      }
      case 'key': {
        // Two emergency rotations (K0 -> K1 -> K2), with refreshes in between so that K1 signs some tokens, then
        // the revocation of K1, an older key. Not K0: it signed the API receiver's own token, whose refusal after
        // a revocation of K0 would empty the API's cache anyway and so hide a stale entry.
        const refreshSome = async (share: number) => {
          for (const session of freeSessions(true)) if (!session.refreshUnknown && laneRandom() < share) await refresh(session);
        };
        firstKid = (await cli(['keys', 'list'])).find((key: { state: string }) => key.state === 'current').kid as string;
        revokedKid = await rotate();
        await refreshSome(0.6);
        lastKid = await rotate();
        const targets = tokens.filter((token) => token.kid === revokedKid);
        const unfocus = focusOn(targets);
        const revokeStartedAt = now();
        // `--`: a kid is a base64url thumbprint, and one in 64 begins with "-", which would read as an option.
        await cli(['keys', 'revoke', '--', revokedKid]);
        const cause: Cause = { what: `revocation of key ${revokedKid}`, startedAt: revokeStartedAt, committedBy: now(), boundMs: KEY_BOUND_MS };
        for (const token of targets) token.causes.push(cause);
        unfocus();
        actionLog.push(`key ${firstKid} -> ${revokedKid} -> ${lastKid}, ${revokedKid} revoked (${targets.length} tokens)`);
        // What clients do when their token is refused: refresh, and get a token of K2.
        await refreshSome(0.8);
        return;
      }
    }
  };

  const endingLane = async (lane: number) => {
    const laneRandom = rng(seed + 2000 + lane);
    for (;;) {
      const index = nextAction++;
      const kind = plan[index];
      if (kind === undefined) return;
      await act(kind, laneRandom);
      answeredEnds++;
    }
  };

  const killAndRestart = async () => {
    // Once enough actions were answered, and while an HTTP end is in flight if one comes within a while.
    await eventually(async () => (answeredEnds >= killAfter ? true : undefined), 90_000, 'actions before the kill', 5);
    const waitForFlight = now() + 3000;
    while (inFlightHttp.size === 0 && now() < waitForFlight) await new Promise((resolve) => setTimeout(resolve, 1));
    const inFlightAtKill = [...inFlightHttp];
    issuer.up = new Promise<void>((resolve) => (releaseUp = resolve));
    down = true;
    killedAt = now();
    issuer.current.child.kill('SIGKILL');
    await issuer.current.exited;
    mark('killed');
    // Which ends in flight at the kill committed? Asked now, before the issuer is back: no other end of those
    // sessions or tokens can be sent meanwhile (HTTP actions wait for the issuer), so what the database says
    // is that end's doing, and the model knows it before any later action looks at those sessions.
    await eventually(async () => (inFlightHttp.size === 0 ? true : undefined), 30_000, 'the requests in flight at the kill to fail', 5);
    for (const lost of unknown) {
      if (lost.session) {
        const row = await db('sessions').where({ id: lost.session.sid }).first();
        const reason = lost.kind === 'admin-end' ? 'admin' : 'revoked';
        if (row.ended_at !== null && row.end_reason === reason) endSessionCause(lost.session, `${lost.kind} of ${lost.session.sid} (in flight at the kill, committed)`, lost.startedAt, killedAt);
      } else if (lost.token && (await db('revoked_access_tokens').where({ jti: lost.token.jti }).first())) {
        lost.token.causes.push({ what: `revoke-access of ${lost.token.jti} (in flight at the kill, committed)`, startedAt: lost.startedAt, committedBy: killedAt, boundMs: BOUND_MS });
      }
    }
    // Fail closed: the API notices that its long poll died, and from then on answers 503 (checked below).
    await eventually(async () => (api.rs.eventStreamCurrent() ? undefined : true), 30_000, 'the API to stop trusting its cache', 5);
    distrustedAt = now();
    await eventually(async () => (calls.filter((call) => call.startedAt > distrustedAt).length >= 3 ? true : undefined), 30_000, 'API calls while the issuer is down', 5);
    restartSpawnedAt = now();
    issuer.current = await box.start({ env: { PORT: String(port) } });
    t.is(issuer.current.port, port, 'restarted on the same port');
    restartedAt = now();
    down = false;
    releaseUp();
    mark('restarted');
    return inFlightAtKill;
  };

  const killing = killAndRestart();
  killing.catch(() => {}); // awaited below; a failure of the lanes must not leave it unhandled
  await Promise.all(Array.from({ length: ENDING_LANES }, (_, lane) => endingLane(lane)));
  const inFlightAtKill = await killing;
  mark('actions done');

  // The API is current again, and stays so; then every bound has passed for every end.
  await eventually(async () => (api.rs.eventStreamCurrent() ? true : undefined), 60_000, 'the API to be current after the restart', 20);
  const lastDeadline = Math.max(...tokens.map(deadline).filter((value) => Number.isFinite(value)));
  await eventually(async () => (now() > lastDeadline ? true : undefined), 60_000, 'the last bound to pass', 20);
  calling = false;
  await Promise.all(callers);
  const phaseCalls = calls.length;
  const phase200 = calls.filter((call) => call.status === 200).length;
  const phaseIntrospections = proxy.count('POST', '/introspect') - introspectionsBefore;
  mark('callers done');

  // --- The check ------------------------------------------------------------------------------------------------------
  const at = (ms: number) => `${((ms - testStart) / 1000).toFixed(3)} s`;
  const describe = (call: ApiCall) =>
    `${call.status} for ${call.token.sid}/${call.token.jti} (kid ${call.token.kid}) started ${at(call.startedAt)} answered ${at(call.answeredAt)}; ` +
    `causes: ${causesOf(call.token).map((cause) => `${cause.what} started ${at(cause.startedAt)} committed by ${at(cause.committedBy)} (+${cause.boundMs} ms)`).join('; ') || 'none'}`;
  const context = () =>
    `${tag}\nkilled ${at(killedAt)}, distrusted ${at(distrustedAt)}, restart spawned ${at(restartSpawnedAt)}, up ${at(restartedAt)}; in flight at the kill: ${inFlightAtKill.join(', ') || 'none'}` +
    `\nthe API's last log lines:\n${apiLogs.slice(-5).join('\n')}`;

  const late = calls.filter((call) => call.status === 200 && call.startedAt > deadline(call.token));
  t.deepEqual(late.slice(0, 5).map(describe), [], `accepted after end + bound\n${context()}`);
  const early = calls.filter((call) => call.status === 401 && call.answeredAt < refusableFrom(call.token));
  t.deepEqual(early.slice(0, 5).map(describe), [], `refused before anything ended it\n${context()}`);
  const odd = calls.filter((call) => ![200, 401, 503].includes(call.status) || (call.status === 200 && call.sid !== call.token.sid));
  t.deepEqual(odd.slice(0, 5).map(describe), [], `an answer other than 200 (for this very session), 401 or 503\n${context()}`);
  // Fail closed while the issuer is down: once the API knew, nothing but 503 until the new issuer existed.
  const duringDowntime = calls.filter((call) => call.startedAt > distrustedAt && call.answeredAt < restartSpawnedAt);
  t.true(duringDowntime.length >= 3, context());
  t.deepEqual(duringDowntime.filter((call) => call.status !== 503).slice(0, 5).map(describe), [], `not 503 while the issuer was down\n${context()}`);
  // The cache was used: at least phaseCalls - phaseIntrospections calls were answered without the issuer (refusals
  // and 503s each cost one introspection, accepted calls from the cache none).
  t.true(phaseCalls - phaseIntrospections > phase200 / 4, `${phaseCalls} calls, ${phase200} accepted, with ${phaseIntrospections} introspections\n${context()}`);

  // Every token is where the model says: the ended ones refused, the others accepted, from the cache after the
  // first round (two rounds without an introspection for the live ones, unless the stream was not current).
  const live = tokens.filter((token) => causesOf(token).length === 0);
  const dead = tokens.filter((token) => causesOf(token).length > 0);
  t.true(live.length >= 10 && dead.length >= 10, `${live.length} live and ${dead.length} ended tokens\n${context()}`);
  for (const token of dead) {
    const call = await callApi(token, -1);
    if (call.status !== 401) t.fail(`ended token not refused at the end: ${describe(call)}\n${context()}`);
  }
  for (const token of live) {
    const call = await callApi(token, -1);
    if (call.status !== 200) t.fail(`live token not accepted after the restart: ${describe(call)}\n${context()}`);
  }
  await eventually(
    async () => {
      const before = proxy.count('POST', '/introspect');
      for (const token of live) {
        const call = await callApi(token, -1);
        if (call.status !== 200) throw new Error(`live token not accepted: ${describe(call)}\n${context()}`);
      }
      return proxy.count('POST', '/introspect') === before ? true : undefined;
    },
    30_000,
    `a round of the ${live.length} live tokens answered from the cache alone (${tag})`,
    50,
  );
  mark('final rounds');

  // --- No event lost --------------------------------------------------------------------------------------------------
  const events: Array<{ id: number; type: string; session_id: string | null; user_id: string | null; jti: string | null; kid: string | null; created_at: number }> = (
    await db('events').select('id', 'type', 'session_id', 'user_id', 'jti', 'kid', 'created_at').orderBy('id')
  ).map((row: any) => ({ ...row, id: Number(row.id), created_at: Number(row.created_at) }));
  // Every ended session has the event of what ended it (one, written in the transaction that ended it).
  const endedSessions: Array<{ id: string; user_id: string; ended_at: number | string; end_reason: string }> = await db('sessions').whereNotNull('ended_at').select('id', 'user_id', 'ended_at', 'end_reason');
  for (const row of endedSessions) {
    const endedAt = Number(row.ended_at);
    const covering =
      row.end_reason === 'admin' || row.end_reason === 'revoked'
        ? events.filter((event) => event.type === 'session_revoked' && event.session_id === row.id)
        : row.end_reason === 'password_changed'
          ? events.filter((event) => event.type === 'credential_change' && event.user_id === row.user_id && event.created_at === endedAt)
          : row.end_reason === 'user_disabled'
            ? events.filter((event) => event.type === 'account_disabled' && event.user_id === row.user_id && event.created_at === endedAt)
            : [];
    if (covering.length !== 1) t.fail(`session ${row.id} ended (${row.end_reason}) with ${covering.length} events\n${context()}`);
  }
  // Every end the test saw answered (or committed under the kill) is in the database.
  const endedIds = new Set(endedSessions.map((row) => row.id));
  for (const session of sessions) if (session.causes.length > 0 && !endedIds.has(session.sid)) t.fail(`session ${session.sid} ended (${session.causes[0]!.what}) but not in the database\n${context()}`);
  const revokedJtis = new Set((await db('revoked_access_tokens').select('jti')).map((row: { jti: string }) => row.jti));
  for (const jti of revokedJtis) t.is(events.filter((event) => event.type === 'token_revoked' && event.jti === jti).length, 1, `token_revoked event of ${jti}\n${context()}`);
  for (const token of tokens) {
    // A revocation of a token that something else ended first writes nothing (revoke.ts only revokes active ones).
    const revocation = token.causes.find((cause) => cause.what.startsWith('revoke-access'));
    const endedBefore = revocation && causesOf(token).some((cause) => cause !== revocation && cause.startedAt < revocation.committedBy);
    if (revocation && !endedBefore && !revokedJtis.has(token.jti)) t.fail(`revoked ${token.jti} not in the database\n${context()}`);
  }
  const countOf = (type: string) => events.filter((event) => event.type === type && event.id > firstEventId).length;
  t.is(countOf('credential_change'), actionLog.filter((line) => line.startsWith('password ')).length, `credential_change events\n${context()}`);
  t.is(countOf('account_disabled'), actionLog.filter((line) => line.startsWith('disable ')).length, `account_disabled events\n${context()}`);
  t.is(countOf('account_enabled'), actionLog.filter((line) => line.startsWith('enable ')).length, `account_enabled events\n${context()}`);
  t.truthy(revokedKid, 'the key operation ran');
  t.is(events.filter((event) => event.type === 'key_revoked' && event.kid === revokedKid).length, 1, `key_revoked event\n${context()}`);
  t.deepEqual(
    tokens.filter((token) => ![firstKid, revokedKid, lastKid].includes(token.kid)).map((token) => token.kid),
    [],
    `tokens signed by the three keys only\n${context()}`,
  );
  t.true(tokens.some((token) => token.kid === revokedKid) && tokens.some((token) => token.kid === lastKid), `tokens of the revoked and the last key\n${context()}`);

  // Both receivers got every ending event committed since their streams opened, across the kill: the plain poller
  // by its own account, the API's receiver by its stream's state at the issuer (sorted in and acknowledged).
  const ending = new Set(['session_revoked', 'credential_change', 'account_disabled', 'account_enabled', 'token_revoked', 'key_revoked']);
  const owed = events.filter((event) => event.id > firstEventId && ending.has(event.type)).map((event) => event.id);
  t.true(owed.length >= 20, `${owed.length} ending events\n${context()}`);
  await eventually(async () => (owed.every((id) => plainPoller.received.has(id)) ? true : undefined), 30_000, `the plain poller to receive every event (${tag})`, 50).catch(() => undefined);
  t.deepEqual(owed.filter((id) => !plainPoller.received.has(id)), [], `events the plain poller never received\n${context()}`);
  const maxId = Math.max(...events.map((event) => event.id));
  const apiStream = await eventually(
    async () => {
      const stream = await db('ssf_streams').where({ client_id: apiEvents.id, status: 'enabled' }).first();
      if (!stream || Number(stream.cursor) < maxId) return undefined;
      const pending = await db('ssf_pending').where({ stream_id: stream.id }).count({ n: '*' }).first();
      return Number(pending?.n ?? 0) === 0 ? stream : undefined;
    },
    30_000,
    `the API's stream to have every event acknowledged (${tag})`,
    50,
  );
  t.is((await db('ssf_streams').where({ client_id: apiEvents.id })).length, 1, 'one stream for the API, the same across the restart');
  t.truthy(apiStream);

  await plainPoller.stop();
  mark('done');
  // For the record: the latest start of an accepted call after the first cause of its token committed, by kind.
  const lag: Record<string, number> = {};
  for (const call of calls) {
    if (call.status !== 200) continue;
    const first = causesOf(call.token).sort((a, b) => a.committedBy + a.boundMs - (b.committedBy + b.boundMs))[0];
    if (!first) continue;
    const kind = first.what.split(' ')[0]!;
    lag[kind] = Math.max(lag[kind] ?? -Infinity, Math.round(call.startedAt - first.committedBy));
  }
  t.log(`latest accepted call after the commit, ms by cause (negative: none after it): ${JSON.stringify(lag)}`);
  t.log(
    `${tokens.length} tokens (${live.length} live at the end), ${sessions.length} sessions, ${owed.length} ending events; ${phaseCalls} API calls ` +
      `(${phase200} accepted, ${phaseIntrospections} introspections, ${calls.filter((call) => call.status === 503).length} answered 503 in all); ` +
      `kill after ${killAfter} actions, in flight at the kill: ${inFlightAtKill.join(', ') || 'none'}, ${unknown.length} answers of ends lost`,
  );
  await api.close();
});
