/**
 * The resource-server and client tests' world: a counting proxy, a real issuer behind it (its issuer identifier
 * is the proxy's URL, so the metadata sends every consumer through the proxy), and the example notes API
 * (scripts/example-api.ts) on a free port, sharing the issuer's ManualClock.
 */
import { registerPublicClient } from '../../src/clients/register-public.js';
import { createLogger } from '../../src/lib/log.js';
import type { ResourceServerCacheOptions, ResourceServerEventOptions } from '../../src/resource-server/index.js';
import { startExampleApi, type ExampleApi } from '../../scripts/example-api.js';
import { startWorld, type World } from './fixtures.js';
import { postForm, send, type Reply } from './http.js';
import { startProxy, type IssuerProxy } from './proxy.js';

export const NOTES_API = 'https://notes.example.test';
export const ELSEWHERE_API = 'https://elsewhere.example.test';
/** A confidential first-party app. */
export const notesApp = { id: 'notes-app', secret: 'notes-app-0123456789abcdef0123456789abcdef' } as const;
/** The notes API's own introspection client. */
export const notesRs = { id: 'notes-rs', secret: 'notes-rs-0123456789abcdef0123456789abcdef' } as const;
/** The notes API's receiver client, for event mode. */
export const notesEvents = { id: 'notes-events', secret: 'notes-events-0123456789abcdef0123456789abcdef' } as const;
/** A public client (a browser app) with a registered origin. */
export const notesSpa = { id: 'notes-spa', origin: 'https://app.example.test' } as const;

export interface NotesWorld {
  world: World;
  proxy: IssuerProxy;
  api: ExampleApi;
  /** The issuer identifier (the proxy's URL). */
  issuer: string;
  /** Every line the notes API logged. */
  apiLogs: string[];
  /** A fresh user of this world. */
  newUser(): Promise<{ username: string; password: string }>;
  /** Logs `user` in at notes-app (directly at the issuer, not through the proxy). */
  login(user: { username: string; password: string }, scope?: string): Promise<{ access: string; refresh: string; exp: number }>;
  /** A request to the notes API with `Authorization: Bearer token` (or the given headers). */
  notes(method: 'GET' | 'POST', token?: string, init?: { headers?: Record<string, string>; query?: string; body?: unknown }): Promise<Reply>;
  /** Ends every session of `username` through the admin API. */
  endSessions(username: string): Promise<void>;
  close(): Promise<void>;
}

export interface NotesWorldOptions {
  cache?: ResourceServerCacheOptions;
  /** Event mode, with the notes-events receiver client; the issuer's long-poll wait is pollWaitSeconds. */
  events?: Omit<ResourceServerEventOptions, 'clientId' | 'clientSecret'> & { pollWaitSeconds: number };
  /**
   * The middleware's deadline for the issuer's answers. Default 20 s: on a busy machine an introspection can take
   * far longer than usual, and a test must not read that as an outage.
   */
  timeoutMs?: number;
  /** The notes API's client secret, to test a misconfigured API. */
  rsSecret?: string;
  /** A path for the issuer identifier, e.g. '/tenant' (RFC 8414 §3.1). */
  issuerPath?: string;
}

let users = 0;

export async function startNotesWorld(options: NotesWorldOptions = {}): Promise<NotesWorld> {
  const proxy = await startProxy();
  let world: World | undefined;
  try {
    return await populate(proxy, (world = await startWorld({
        env: {
          GATEHOUSE_ISSUER: `${proxy.issuer}${options.issuerPath ?? ''}`,
          ...(options.events ? { GATEHOUSE_SSF_POLL_WAIT_SECONDS: String(options.events.pollWaitSeconds) } : {}),
        },
      })), options);
  } catch (error) {
    // A world half started (a slow database on a busy machine) must not keep its servers open: the test
    // worker could not exit, and the whole run would wait for it.
    await world?.close().catch(() => {});
    await proxy.close();
    throw error;
  }
}

async function populate(proxy: IssuerProxy, world: World, options: NotesWorldOptions): Promise<NotesWorld> {
  const issuer = world.issuer;
  proxy.target = world.url;
  await world.createClient({ ...notesApp, grantTypes: ['password', 'refresh_token'], scope: 'notes:read notes:write', audiences: [NOTES_API, ELSEWHERE_API] });
  await world.createClient({ ...notesRs, audiences: [NOTES_API], introspect: true });
  if (options.events) await world.createClient({ ...notesEvents, receiver: true });
  await registerPublicClient(
    world.store,
    { id: notesSpa.id, grantTypes: ['password', 'refresh_token'], scope: 'notes:read notes:write', audiences: [NOTES_API, ELSEWHERE_API], origins: [notesSpa.origin] },
    world.clock.now(),
  );
  const apiLogs: string[] = [];
  const api = await startExampleApi({
    issuer,
    clientId: notesRs.id,
    clientSecret: options.rsSecret ?? notesRs.secret,
    audience: NOTES_API,
    clock: world.clock,
    log: createLogger((line) => apiLogs.push(line)),
    ...(options.cache ? { cache: options.cache } : {}),
    ...(options.events ? { events: { ...options.events, clientId: notesEvents.id, clientSecret: notesEvents.secret } } : {}),
    timeoutMs: options.timeoutMs ?? 20_000,
  });

  const notesWorld: NotesWorld = {
    world,
    proxy,
    api,
    issuer,
    apiLogs,
    async newUser() {
      const user = { username: `user-${++users}-${process.pid}`, password: 'password-123' };
      await world.createUser(user.username, user.password);
      return user;
    },
    async login(user, scope) {
      const reply = await postForm(
        `${world.api}/token`,
        { grant_type: 'password', username: user.username, password: user.password, ...(scope ? { scope } : {}) },
        { auth: [notesApp.id, notesApp.secret] },
      );
      if (reply.status !== 200) throw new Error(`login failed: ${reply.status} ${reply.text}`);
      const exp = world.clock.now() + (reply.json.expires_in as number);
      return { access: reply.json.access_token, refresh: reply.json.refresh_token, exp };
    },
    notes(method, token, init = {}) {
      const headers: Record<string, string> = { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...init.headers };
      if (init.body !== undefined) headers['content-type'] = 'application/json';
      return send(`${api.url}/notes${init.query ?? ''}`, { method, headers, ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }) });
    },
    async endSessions(username) {
      const adminToken = await world.adminToken();
      const reply = await send(`${world.api}/admin/users/${encodeURIComponent(username)}/sessions`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${adminToken}` },
      });
      if (reply.status !== 204) throw new Error(`ending sessions failed: ${reply.status} ${reply.text}`);
    },
    async close() {
      await api.close();
      await proxy.close();
      await world.close();
    },
  };
  return notesWorld;
}
