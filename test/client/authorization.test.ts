/**
 * gatehouse/client's authorization code flow (startLogin / completeLogin) against a real issuer and the notes
 * API, in Node with an in-memory storage; the browser's part (the login form) is played by the test agent. The
 * tokens it gets renew exactly as those of login() do. test/browser/ runs the same code in Chromium.
 */
import anyTest, { type TestFn } from 'ava';
import { registerPublicClient } from '../../src/clients/register-public.js';
import {
  AuthorizationError,
  createGatehouseClient,
  LoginFailedError,
  LoginResponseError,
  SessionEndedError,
  type GatehouseClientOptions,
  type LoginStorage,
} from '../../src/client/index.js';
import { authorizeThrough, BrowserAgent } from '../helpers/browser-agent.js';
import { decodeJwt } from '../helpers/http.js';
import { NOTES_API, startNotesWorld, type NotesWorld } from '../helpers/notes.js';

const test = anyTest as TestFn<NotesWorld>;
const app = { id: 'notes-code', redirectUri: 'http://127.0.0.1:5180/callback' } as const;
const partner = { id: 'notes-partner', redirectUri: 'https://partner.example.test/cb' } as const;

test.beforeEach(async (t) => {
  t.context = await startNotesWorld();
  const { store, clock } = t.context.world;
  await registerPublicClient(store, { id: app.id, scope: 'notes:read notes:write', audiences: [NOTES_API], redirectUris: [app.redirectUri] }, clock.now());
  await registerPublicClient(store, { id: partner.id, scope: 'notes:read', audiences: [NOTES_API], redirectUris: [partner.redirectUri], thirdParty: true }, clock.now());
});
test.afterEach.always((t) => t.context?.close());

class MemoryStorage implements LoginStorage {
  readonly items = new Map<string, string>();
  getItem = (key: string) => this.items.get(key) ?? null;
  setItem = (key: string, value: string) => void this.items.set(key, value);
  removeItem = (key: string) => void this.items.delete(key);
}

function codeClient(notes: NotesWorld, storage: LoginStorage, options: Partial<GatehouseClientOptions> = {}) {
  return createGatehouseClient({
    tokenEndpoint: `${notes.issuer}/token`,
    authorizationEndpoint: `${notes.issuer}/authorize`,
    issuer: notes.issuer,
    redirectUri: app.redirectUri,
    clientId: app.id,
    apiOrigins: [notes.api.url],
    loginStorage: storage,
    ...options,
  });
}

/** The browser's part: follows the authorization URL through the login form (and consent) back to the app. */
async function browse(notes: NotesWorld, authorizationUrl: string, agent = new BrowserAgent(notes.world.api, notes.issuer), consent: 'allow' | 'deny' = 'allow') {
  const url = new URL(authorizationUrl);
  const p = url.searchParams;
  const extra: Record<string, string> = {};
  for (const name of ['prompt', 'max_age', 'resource']) if (p.has(name)) extra[name] = p.get(name)!;
  const { location } = await authorizeThrough(
    agent,
    { clientId: p.get('client_id')!, redirectUri: p.get('redirect_uri')!, challenge: p.get('code_challenge')!, state: p.get('state')!, ...(p.has('scope') ? { scope: p.get('scope')! } : {}), extra },
    { username: 'alice', password: 'correct-horse' },
    consent,
  );
  return location;
}

test('startLogin sends an S256 request and keeps only the verifier; completeLogin redeems it; renewal and SessionEndedError work as with login()', async (t) => {
  const notes = t.context;
  const storage = new MemoryStorage();
  const client = codeClient(notes, storage);
  const url = new URL(await client.startLogin());
  t.is(`${url.origin}${url.pathname}`, `${notes.issuer}/authorize`);
  t.like(Object.fromEntries(url.searchParams), { response_type: 'code', client_id: app.id, redirect_uri: app.redirectUri, code_challenge_method: 'S256' });
  t.regex(url.searchParams.get('code_challenge')!, /^[A-Za-z0-9_-]{43}$/);
  t.regex(url.searchParams.get('state')!, /^[A-Za-z0-9_-]{43}$/);
  t.is(storage.items.size, 1);
  const stored = [...storage.items.values()][0]!;
  t.false(stored.includes(url.searchParams.get('code_challenge')!), 'the challenge is sent, the verifier kept');

  const tokens = await client.completeLogin(await browse(notes, url.href));
  t.is(storage.items.size, 0, 'a pending login is used once');
  t.is(decodeJwt(tokens.accessToken).payload.client_id, app.id);
  t.is((await client.fetch(`${notes.api.url}/notes`)).status, 200);

  // Renewal as today: an expired token renews once, transparently.
  notes.world.clock.set(decodeJwt(client.tokens!.accessToken).payload.exp);
  t.is((await client.fetch(`${notes.api.url}/notes`)).status, 200);
  t.is(notes.proxy.count('POST', '/token', 'refresh_token'), 1);
  // An ended session is SessionEndedError at the next call.
  await notes.endSessions('alice');
  await t.throwsAsync(client.fetch(`${notes.api.url}/notes`), { instanceOf: SessionEndedError });
});

test('completeLogin refuses a response it did not ask for: unknown state, a second use, a foreign or missing iss, another address', async (t) => {
  const notes = t.context;
  const storage = new MemoryStorage();
  const client = codeClient(notes, storage);
  const location = await browse(notes, await client.startLogin());
  const refuse = async (url: URL, what: string) => {
    const error = await t.throwsAsync(client.completeLogin(url), { instanceOf: LoginResponseError }, what);
    t.is(error?.code, 'ERR_LOGIN_RESPONSE', what);
  };
  for (const [what, change] of [
    ['forged state', (url: URL) => url.searchParams.set('state', 'forged')],
    ['no state', (url: URL) => url.searchParams.delete('state')],
  ] as const) {
    const url = new URL(location);
    change(url);
    await refuse(url, what);
  }
  t.is(storage.items.size, 1, 'a forged state leaves the real pending login alone');
  // A foreign or missing iss (RFC 9207): refused, and the pending login is used up by the attempt.
  for (const [what, change] of [
    ['another issuer', (url: URL) => url.searchParams.set('iss', 'https://evil.example')],
    ['no iss', (url: URL) => url.searchParams.delete('iss')],
  ] as const) {
    const url = new URL(await browse(notes, await client.startLogin()));
    change(url);
    await refuse(url, what);
  }
  await client.completeLogin(location);
  await refuse(location, 'the same response a second time');
  t.is(notes.proxy.count('POST', '/token', 'authorization_code'), 1, 'only the genuine response sent its code to the issuer');

  const fresh = await browse(notes, await client.startLogin());
  const elsewhere = new URL(fresh);
  elsewhere.pathname = '/other';
  await refuse(elsewhere, 'not the redirect URI');
});

test('an error from the issuer is AuthorizationError with its code; a refused code is LoginFailedError', async (t) => {
  const notes = t.context;
  const storage = new MemoryStorage();
  const client = codeClient(notes, storage, { clientId: partner.id, redirectUri: partner.redirectUri });
  const denied = await browse(notes, await client.startLogin(), undefined, 'deny');
  const error = await t.throwsAsync(client.completeLogin(denied), { instanceOf: AuthorizationError });
  t.is(error?.error, 'access_denied');
  t.is(error?.code, 'ERR_AUTHORIZATION');

  const spa = codeClient(notes, storage);
  const agent = new BrowserAgent(notes.world.api, notes.issuer);
  const none = await spa.startLogin({ prompt: 'none' });
  t.is(new URL(none).searchParams.get('prompt'), 'none');
  const notLoggedIn = await agent.get(none);
  t.is((await t.throwsAsync(spa.completeLogin(notLoggedIn.location!), { instanceOf: AuthorizationError }))?.error, 'login_required');

  // A code that expired before the app redeemed it.
  const location = await browse(notes, await spa.startLogin({ scope: 'notes:read', maxAge: 300 }), agent);
  notes.world.clock.advance(notes.world.config.authorizationCodeTtlSeconds);
  await t.throwsAsync(spa.completeLogin(location), { instanceOf: LoginFailedError });
  t.is(spa.tokens, undefined);
});

test('misuse is a TypeError: the code flow without its options, or without a storage outside a browser', async (t) => {
  const notes = t.context;
  const bare = createGatehouseClient({ tokenEndpoint: `${notes.issuer}/token`, clientId: app.id, apiOrigins: [notes.api.url] });
  await t.throwsAsync(bare.startLogin(), { instanceOf: TypeError });
  const noStorage = codeClient(notes, undefined as never, { loginStorage: undefined });
  await t.throwsAsync(noStorage.startLogin(), { instanceOf: TypeError, message: /loginStorage/ });
  await t.throwsAsync(codeClient(notes, new MemoryStorage()).completeLogin(), { instanceOf: TypeError, message: /URL/ });
});
