/**
 * The self-renewing client (src/client) against the notes API and a real issuer, through the counting proxy: what
 * reaches /token is counted, time is the issuer's ManualClock.
 */
import anyTest, { type TestFn } from 'ava';
import {
  createGatehouseClient,
  GatehouseClientError,
  LoginFailedError,
  NotLoggedInError,
  SessionEndedError,
  TokenEndpointError,
  TokenRejectedError,
  type GatehouseClientOptions,
  type TokenSet,
} from '../../src/client/index.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from '../helpers/http.js';
import { ELSEWHERE_API, notesApp, notesSpa, startNotesWorld, type NotesWorld } from '../helpers/notes.js';

const test = anyTest as TestFn<NotesWorld>;

test.beforeEach(async (t) => {
  t.context = await startNotesWorld();
});
test.afterEach.always(async (t) => {
  await t.context.close();
});

/** A client of the public app notes-spa, with its token endpoint behind the counting proxy. */
function spaClient(notes: NotesWorld, options: Partial<GatehouseClientOptions> = {}) {
  return createGatehouseClient({
    tokenEndpoint: `${notes.issuer}/token`,
    revocationEndpoint: `${notes.issuer}/revoke`,
    clientId: notesSpa.id,
    apiOrigins: [notes.api.url],
    ...options,
  });
}

const refreshes = (notes: NotesWorld) => notes.proxy.count('POST', '/token', 'refresh_token');
const expOf = (tokens: TokenSet | undefined) => decodeJwt(tokens!.accessToken).payload.exp as number;

test('10 concurrent calls with an expired token: exactly one refresh reaches /token, and all 10 succeed', async (t) => {
  const notes = t.context;
  const client = spaClient(notes);
  const user = await notes.newUser();
  await client.login(user.username, user.password);
  const before = client.tokens!;
  notes.world.clock.set(expOf(before));

  const replies = await Promise.all(Array.from({ length: 10 }, () => client.fetch(`${notes.api.url}/notes`)));
  t.deepEqual(replies.map((reply) => reply.status), Array(10).fill(200));
  t.is(refreshes(notes), 1);
  t.not(client.tokens!.accessToken, before.accessToken);
  t.not(client.tokens!.refreshToken, before.refreshToken);
  // One renewal, so no reuse detection: the session is alive and renews again.
  notes.world.clock.set(expOf(client.tokens));
  t.is((await client.fetch(`${notes.api.url}/notes`)).status, 200);
  t.is(refreshes(notes), 2);
});

test('an admin ends the session: the call throws SessionEndedError after one refused renewal, and storage is cleared', async (t) => {
  const notes = t.context;
  const saved: Array<TokenSet | undefined> = [];
  const client = spaClient(notes, { saveTokens: (tokens) => void saved.push(tokens) });
  const user = await notes.newUser();
  await client.login(user.username, user.password);
  t.is((await client.fetch(`${notes.api.url}/notes`)).status, 200);
  await notes.endSessions(user.username);

  const error = await t.throwsAsync(client.fetch(`${notes.api.url}/notes`), { instanceOf: SessionEndedError });
  t.true(error instanceof GatehouseClientError);
  t.is(error?.code, 'ERR_SESSION_ENDED');
  t.is(refreshes(notes), 1);
  t.is(client.tokens, undefined);
  t.is(saved.at(-1), undefined, 'the storage callback hears that the tokens are gone');
  await t.throwsAsync(client.fetch(`${notes.api.url}/notes`), { instanceOf: NotLoggedInError });

  // Logging in again works.
  await client.login(user.username, user.password);
  t.is((await client.fetch(`${notes.api.url}/notes`)).status, 200);
});

test('concurrent calls when the session has ended: every one throws SessionEndedError, after one renewal attempt', async (t) => {
  const notes = t.context;
  const client = spaClient(notes);
  const user = await notes.newUser();
  await client.login(user.username, user.password);
  await notes.endSessions(user.username);
  const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => client.fetch(`${notes.api.url}/notes`)));
  for (const outcome of outcomes) {
    t.is(outcome.status, 'rejected');
    if (outcome.status === 'rejected') t.true(outcome.reason instanceof SessionEndedError, String(outcome.reason));
  }
  t.is(refreshes(notes), 1);
});

test('the storage callback receives each rotated refresh token, before the retried call goes out', async (t) => {
  const notes = t.context;
  const events: string[] = [];
  const saved: TokenSet[] = [];
  const tracingFetch: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const response = await fetch(request);
    events.push(`${request.method} ${new URL(request.url).pathname} ${response.status}`);
    return response;
  };
  const client = spaClient(notes, {
    fetch: tracingFetch,
    saveTokens: async (tokens) => {
      await new Promise((resolve) => setTimeout(resolve, 20)); // a slow storage
      if (tokens) saved.push(tokens);
      events.push('saved');
    },
  });
  const user = await notes.newUser();
  await client.login(user.username, user.password);
  for (let i = 0; i < 2; i++) {
    notes.world.clock.set(expOf(client.tokens));
    t.is((await client.fetch(`${notes.api.url}/notes`)).status, 200);
  }
  t.is(saved.length, 3, 'the login and two renewals');
  t.is(new Set(saved.map((tokens) => tokens.refreshToken)).size, 3, 'a new refresh token each time');
  t.true(saved.every((tokens) => typeof tokens.refreshToken === 'string' && tokens.refreshToken.length > 0));
  t.deepEqual(client.tokens, saved[2]);
  t.deepEqual(events, [
    'POST /token 200',
    'saved',
    'GET /notes 401',
    'POST /token 200',
    'saved',
    'GET /notes 200',
    'GET /notes 401',
    'POST /token 200',
    'saved',
    'GET /notes 200',
  ]);
});

test('a second invalid_token right after a renewal stops with TokenRejectedError instead of looping', async (t) => {
  const notes = t.context;
  const client = spaClient(notes);
  const user = await notes.newUser();
  // A token for another API: the notes API refuses it, and a renewal gives another one for the same API.
  await client.login(user.username, user.password, { resource: ELSEWHERE_API });
  const error = await t.throwsAsync(client.fetch(`${notes.api.url}/notes`), { instanceOf: TokenRejectedError });
  t.is(error?.code, 'ERR_TOKEN_REJECTED');
  t.is(refreshes(notes), 1);
});

test('renewing ahead of expiry (expires_in): the call goes out with a fresh token and never sees a 401', async (t) => {
  const notes = t.context;
  const statuses: number[] = [];
  const client = spaClient(notes, {
    renewAheadSeconds: 60,
    now: () => notes.world.clock.now() * 1000,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      statuses.push(response.status);
      return response;
    },
  });
  const user = await notes.newUser();
  await client.login(user.username, user.password);
  const exp = expOf(client.tokens);
  notes.world.clock.set(exp - 61);
  t.is((await client.fetch(`${notes.api.url}/notes`)).status, 200);
  t.is(refreshes(notes), 0, 'more than 60 s left: no renewal');
  notes.world.clock.set(exp - 30);
  t.is((await client.fetch(`${notes.api.url}/notes`)).status, 200);
  t.is(refreshes(notes), 1);
  t.deepEqual(statuses, [200, 200, 200, 200], 'login, call, renewal, call: no 401');

  // The token endpoint is down while renewing ahead: the call still goes out with the token it has.
  notes.world.clock.set(expOf(client.tokens) - 30);
  notes.proxy.rule = { path: '/token', action: 'status', status: 503 };
  t.is((await client.fetch(`${notes.api.url}/notes`)).status, 200);
});

test('the body of a refused call is sent again on the retry', async (t) => {
  const notes = t.context;
  const client = spaClient(notes);
  const user = await notes.newUser();
  await client.login(user.username, user.password);
  notes.world.clock.set(expOf(client.tokens));
  const created = await client.fetch(`${notes.api.url}/notes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'again' }) });
  t.is(created.status, 201);
  const listed = await client.fetch(`${notes.api.url}/notes`);
  t.deepEqual(((await listed.json()) as Array<{ text: string }>).map((note) => note.text), ['again']);
});

test('answers that are not invalid_token pass through untouched: 403, and 503 while the issuer is down', async (t) => {
  const notes = t.context;
  const client = spaClient(notes);
  const user = await notes.newUser();
  await client.login(user.username, user.password, { scope: 'notes:read' });
  t.is((await client.fetch(`${notes.api.url}/notes`, { method: 'POST', body: '{"text":"x"}' })).status, 403);
  notes.proxy.rule = { path: '/introspect', action: 'status', status: 500 };
  t.is((await client.fetch(`${notes.api.url}/notes`)).status, 503);
  t.is(refreshes(notes), 0);
  t.not(client.tokens, undefined, 'an outage does not log the user out');
});

test('a renewal that fails for another reason (the issuer answers 500) keeps the tokens and throws TokenEndpointError', async (t) => {
  const notes = t.context;
  const client = spaClient(notes);
  const user = await notes.newUser();
  await client.login(user.username, user.password);
  notes.world.clock.set(expOf(client.tokens));
  notes.proxy.rule = { path: '/token', action: 'status', status: 500 };
  const error = await t.throwsAsync(client.fetch(`${notes.api.url}/notes`), { instanceOf: TokenEndpointError });
  t.is(error?.status, 500);
  t.not(client.tokens, undefined);
  notes.proxy.rule = undefined;
  t.is((await client.fetch(`${notes.api.url}/notes`)).status, 200);
});

test('login errors: a wrong password is LoginFailedError; a call before login is NotLoggedInError', async (t) => {
  const notes = t.context;
  const client = spaClient(notes);
  const user = await notes.newUser();
  await t.throwsAsync(client.fetch(`${notes.api.url}/notes`), { instanceOf: NotLoggedInError });
  const error = await t.throwsAsync(client.login(user.username, 'wrong password'), { instanceOf: LoginFailedError });
  t.is(error?.code, 'ERR_LOGIN_FAILED');
  t.false(error!.message.includes('wrong password'));
});

test('a public client logs in and renews with client_id alone; a confidential one with client_secret_basic', async (t) => {
  const notes = t.context;
  const user = await notes.newUser();
  const spa = spaClient(notes);
  await spa.login(user.username, user.password);
  t.is(decodeJwt(spa.tokens!.accessToken).payload.client_id, notesSpa.id);
  await spa.renew();
  t.is((await spa.fetch(`${notes.api.url}/notes`)).status, 200);

  const server = createGatehouseClient({ tokenEndpoint: `${notes.issuer}/token`, clientId: notesApp.id, clientSecret: notesApp.secret, apiOrigins: [notes.api.url] });
  await server.login(user.username, user.password);
  t.is(decodeJwt(server.tokens!.accessToken).payload.client_id, notesApp.id);
  await server.renew();
  t.is((await server.fetch(`${notes.api.url}/notes`)).status, 200);
  t.is(refreshes(notes), 2);
});

test('logout revokes the refresh token: the session ends at the issuer', async (t) => {
  const notes = t.context;
  const client = spaClient(notes);
  const user = await notes.newUser();
  const tokens = await client.login(user.username, user.password);
  await client.logout();
  t.is(client.tokens, undefined);
  t.is(notes.proxy.count('POST', '/revoke'), 1);
  t.is((await notes.notes('GET', tokens.accessToken)).status, 401);
});

/** A server of someone else's that records what it is sent and answers every request 401 invalid_token. */
async function startForeignServer(t: { teardown(fn: () => void): void }) {
  const authorizations: Array<string | undefined> = [];
  const server = createServer((req, res) => {
    authorizations.push(req.headers.authorization);
    res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'application/json' });
    res.end('{"error":"invalid_token"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, authorizations };
}

test('the access token goes only to the listed API origins: a foreign server gets none and forces no renewal', async (t) => {
  const notes = t.context;
  const foreign = await startForeignServer(t);
  const client = spaClient(notes);
  const user = await notes.newUser();
  await client.login(user.username, user.password);
  const held = client.tokens;
  for (let i = 0; i < 6; i++) {
    const reply = await client.fetch(`${foreign.url}/collect?i=${i}`, { headers: { 'x-app': 'yes' } });
    t.is(reply.status, 401, 'the foreign answer is passed through as it is');
    await reply.arrayBuffer();
  }
  t.deepEqual(foreign.authorizations, Array(6).fill(undefined), 'no token was sent');
  t.is(refreshes(notes), 0, 'no renewal');
  t.is(client.tokens, held);
  // And the listed API still gets it.
  t.is((await client.fetch(`${notes.api.url}/notes`)).status, 200);

  // The same host on another port is another origin: a client listing that one sends the notes API nothing.
  const otherPort = new URL(notes.api.url);
  otherPort.port = String(Number(otherPort.port) + 1);
  const elsewhere = spaClient(notes, { apiOrigins: [otherPort.origin], tokens: held });
  const bare = await elsewhere.fetch(`${notes.api.url}/notes`);
  t.is(bare.status, 401);
  t.is(bare.headers.get('www-authenticate'), 'Bearer realm="api"', 'a request without credentials');
  t.is(refreshes(notes), 0);
});

test('apiOrigins is required and must hold origins: a TypeError at creation', (t) => {
  const base = { tokenEndpoint: 'https://auth.example/token', clientId: 'web' };
  for (const apiOrigins of [undefined, [], ['https://api.example/'], ['https://api.example/v1'], ['api.example'], ['data:,x']]) {
    t.throws(() => createGatehouseClient({ ...base, apiOrigins } as unknown as GatehouseClientOptions), { instanceOf: TypeError }, JSON.stringify(apiOrigins));
  }
  t.notThrows(() => createGatehouseClient({ ...base, apiOrigins: ['https://api.example', 'http://localhost:3000'] }));
});

test('logout keeps the tokens until the revocation succeeds, so it can be tried again', async (t) => {
  const notes = t.context;
  const saved: Array<TokenSet | undefined> = [];
  const client = spaClient(notes, { saveTokens: (tokens) => void saved.push(tokens) });
  const user = await notes.newUser();
  const tokens = await client.login(user.username, user.password);
  notes.proxy.rule = { path: '/revoke', action: 'status', status: 503 };
  const error = await t.throwsAsync(client.logout(), { instanceOf: TokenEndpointError });
  t.is(error?.status, 503);
  t.is(client.tokens, tokens, 'still logged in: the session was not ended');
  t.false(saved.includes(undefined), 'storage was not cleared');
  t.is((await client.fetch(`${notes.api.url}/notes`)).status, 200);
  notes.proxy.rule = undefined;
  await client.logout();
  t.is(client.tokens, undefined);
  t.is(saved.at(-1), undefined);
  t.is((await notes.notes('GET', tokens.accessToken)).status, 401);
});
