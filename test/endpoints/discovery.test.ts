/**
 * GET /.well-known/jwks.json (standards §8, JWKS-*) and GET /.well-known/oauth-authorization-server
 * (standards §9, META-*; issue #2 "GET /.well-known/…" and GATEHOUSE_ISSUER).
 */
import { rmSync } from 'node:fs';
import anyTest, { type TestFn } from 'ava';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { alice, auth, confA, confB, rs1, startWorld, type World } from '../helpers/fixtures.js';
import { decodeJwt, postForm, send } from '../helpers/http.js';
import { startIssuer, tempDir } from '../helpers/issuer.js';

const test = anyTest as TestFn<World>;
test.before(async (t) => {
  t.context = await startWorld();
});
test.after.always(async (t) => {
  await t.context.close();
});

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const JSON_TYPE = /^application\/(json|jwk-set\+json)(;|$)/;

const jwks = (world: { url: string }) => send(`${world.url}/.well-known/jwks.json`);
const metadata = (world: { url: string }, path = '') => send(`${world.url}/.well-known/oauth-authorization-server${path}`);

/** Every token kind the issuer hands out, to compare their headers and claims with the published documents. */
async function issueEveryKind(world: World): Promise<Record<string, string>> {
  const login = await world.login();
  const renewed = await world.refresh(login.refresh);
  const cc = await world.token({ grant_type: 'client_credentials' }, confB);
  if (renewed.status !== 200 || cc.status !== 200) throw new Error('issuing failed');
  return { password: login.access, refresh_token: renewed.json.access_token, client_credentials: cc.json.access_token, admin: await world.adminToken() };
}

/** Every array anywhere in a JSON value, with its path. */
function arrays(value: unknown, path = '$'): Array<[string, unknown[]]> {
  if (Array.isArray(value)) return [[path, value], ...value.flatMap((item, index) => arrays(item, `${path}[${index}]`))];
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => arrays(item, `${path}.${key}`));
  return [];
}

// --- JWKS ---

test('JWKS-01 GET without authentication: 200 JSON {"keys":[…]} with at least one key', async (t) => {
  const reply = await jwks(t.context);
  t.is(reply.status, 200);
  t.regex(reply.headers.get('content-type') ?? '', JSON_TYPE);
  t.true(Array.isArray(reply.json.keys));
  t.true(reply.json.keys.length >= 1);
  t.deepEqual(Object.keys(reply.json), ['keys']);
});

test('JWKS-01 Cache-Control is public with a positive max-age', async (t) => {
  const reply = await jwks(t.context);
  const cacheControl = reply.headers.get('cache-control') ?? '';
  t.regex(cacheControl, /(^|,\s*)public(\s*,|$)/);
  const maxAge = /(?:^|,\s*)max-age=(\d+)(?:\s*,|$)/.exec(cacheControl);
  t.truthy(maxAge, cacheControl);
  t.true(Number(maxAge![1]) > 0);
  t.is(Number(maxAge![1]), t.context.config.jwksMaxAgeSeconds);
  t.notRegex(cacheControl, /no-store|private/);
});

test('JWKS-02 every key has kty, a distinct kid, use "sig" without key_ops, and the signing alg', async (t) => {
  const { keys } = (await jwks(t.context)).json;
  const kids = keys.map((key: any) => key.kid);
  t.is(new Set(kids).size, kids.length, 'distinct kids');
  for (const key of keys) {
    t.is(typeof key.kty, 'string');
    t.is(typeof key.kid, 'string');
    t.true(key.kid.length > 0);
    t.is(key.use, 'sig');
    t.false('key_ops' in key, 'use and key_ops SHOULD NOT be used together');
    t.is(key.alg, 'ES256');
  }
  // The key that signs tokens names the same alg as the tokens' header.
  for (const [kind, token] of Object.entries(await issueEveryKind(t.context))) {
    const { header } = decodeJwt(token);
    const key = keys.find((candidate: any) => candidate.kid === header.kid);
    t.is(key?.alg, header.alg, kind);
  }
});

test('JWKS-03/04 ES256 keys carry crv, x, y and no private or symmetric member', async (t) => {
  const { keys } = (await jwks(t.context)).json;
  for (const key of keys) {
    t.is(key.kty, 'EC');
    t.is(key.crv, 'P-256');
    t.is(typeof key.x, 'string');
    t.is(typeof key.y, 'string');
    for (const member of PRIVATE_MEMBERS) t.false(member in key, `${key.kid} has ${member}`);
  }
});

for (const [alg, check] of [
  ['RS256', (t: any, key: any) => {
    t.is(key.kty, 'RSA');
    t.is(key.e, 'AQAB');
    t.true(Buffer.from(key.n, 'base64url').length * 8 >= 2048, 'modulus of at least 2048 bits');
  }],
  ['PS256', (t: any, key: any) => {
    t.is(key.kty, 'RSA');
    t.true(Buffer.from(key.n, 'base64url').length * 8 >= 2048, 'modulus of at least 2048 bits');
  }],
  ['EdDSA', (t: any, key: any) => {
    t.is(key.kty, 'OKP');
    t.is(key.crv, 'Ed25519');
    t.is(typeof key.x, 'string');
  }],
] as const) {
  test(`JWKS-03/04 ${alg} keys carry their public parameters, no private member, and verify the tokens`, async (t) => {
    const world = await startWorld({ env: { GATEHOUSE_SIGNING_ALG: alg } });
    try {
      const set = (await jwks(world)).json;
      t.true(set.keys.length >= 1);
      for (const key of set.keys) {
        t.is(key.alg, alg);
        t.is(key.use, 'sig');
        check(t, key);
        for (const member of PRIVATE_MEMBERS) t.false(member in key, `${key.kid} has ${member}`);
        t.not(key.kty, 'oct');
      }
      const { access } = await world.login();
      t.is(decodeJwt(access).header.alg, alg);
      const { payload } = await jwtVerify(access, createLocalJWKSet(set), { issuer: world.issuer, algorithms: [alg] });
      t.is(payload.sub, world.aliceSub);
    } finally {
      await world.close();
    }
  });
}

test('JWKS-05 the kid of every issued token is published, and that key verifies the token', async (t) => {
  const tokens = await issueEveryKind(t.context);
  const set = (await jwks(t.context)).json;
  const kids = new Set(set.keys.map((key: any) => key.kid));
  const verify = createLocalJWKSet(set);
  for (const [kind, token] of Object.entries(tokens)) {
    const { header } = decodeJwt(token);
    t.true(kids.has(header.kid), `${kind}: kid ${header.kid} missing from the JWKS`);
    const { payload } = await jwtVerify(token, verify, { issuer: t.context.issuer, typ: 'at+jwt' });
    t.is(payload.iss, t.context.issuer, kind);
  }
});

// --- Metadata ---

test('META-01 GET /.well-known/oauth-authorization-server: 200 JSON without authentication', async (t) => {
  const reply = await metadata(t.context);
  t.is(reply.status, 200);
  t.regex(reply.headers.get('content-type') ?? '', /^application\/json(;|$)/);
  t.is(typeof reply.json, 'object');
});

test('META-02 issuer is the http://localhost:<port> default, equals every token iss, without query or fragment', async (t) => {
  const { json } = await metadata(t.context);
  const port = new URL(t.context.url).port;
  t.is(json.issuer, `http://localhost:${port}`);
  t.is(json.issuer, t.context.issuer);
  const url = new URL(json.issuer);
  t.is(url.search, '');
  t.is(url.hash, '');
  t.false(json.issuer.endsWith('/'));
  for (const [kind, token] of Object.entries(await issueEveryKind(t.context))) {
    t.is(decodeJwt(token).payload.iss, json.issuer, kind);
  }
});

test('META-03 the endpoints are absolute URLs under the issuer, and each answers as specified', async (t) => {
  const { json } = await metadata(t.context);
  t.is(json.token_endpoint, `${json.issuer}/token`);
  t.is(json.jwks_uri, `${json.issuer}/.well-known/jwks.json`);
  t.is(json.introspection_endpoint, `${json.issuer}/introspect`);
  t.is(json.revocation_endpoint, `${json.issuer}/revoke`);
  // RFC 8414 §2: REQUIRED now that a grant (authorization_code) uses it; test/endpoints/authorize.test.ts follows it.
  t.is(json.authorization_endpoint, `${json.issuer}/authorize`);
  // localhost may resolve to ::1, where nothing listens: follow the URLs on the address the server is bound to.
  const follow = (endpoint: string) => {
    t.true(endpoint.startsWith(json.issuer));
    return t.context.url + endpoint.slice(json.issuer.length);
  };

  const token = await postForm(follow(json.token_endpoint), { grant_type: 'password', username: alice.username, password: alice.password }, { auth: auth(confA) });
  t.is(token.status, 200);
  const keys = await send(follow(json.jwks_uri));
  t.true(keys.json.keys.some((key: any) => key.kid === decodeJwt(token.json.access_token).header.kid));
  const introspection = await postForm(follow(json.introspection_endpoint), { token: token.json.access_token }, { auth: auth(rs1) });
  t.is(introspection.json.active, true);
  const revocation = await postForm(follow(json.revocation_endpoint), { token: token.json.refresh_token }, { auth: auth(confA) });
  t.is(revocation.status, 200);
  const after = await postForm(follow(json.introspection_endpoint), { token: token.json.access_token }, { auth: auth(rs1) });
  t.is(after.text, '{"active":false}');
});

test('META-04 grant_types_supported is exactly authorization_code, password, client_credentials and refresh_token', async (t) => {
  const { json } = await metadata(t.context);
  t.true(Array.isArray(json.grant_types_supported));
  t.is(json.grant_types_supported.length, 4);
  t.deepEqual([...json.grant_types_supported].sort(), ['authorization_code', 'client_credentials', 'password', 'refresh_token']);
});

test('META-05 each endpoint lists client_secret_basic and client_secret_post, and each accepts both; public clients ("none") only at /token and /revoke', async (t) => {
  const { json } = await metadata(t.context);
  for (const member of ['token_endpoint_auth_methods_supported', 'revocation_endpoint_auth_methods_supported']) {
    t.deepEqual([...json[member]].sort(), ['client_secret_basic', 'client_secret_post', 'none'], member);
  }
  t.deepEqual([...json.introspection_endpoint_auth_methods_supported].sort(), ['client_secret_basic', 'client_secret_post']);
  const viaPost = await postForm(`${t.context.url}/token`, { grant_type: 'client_credentials', client_id: confB.id, client_secret: confB.secret });
  t.is(viaPost.status, 200);
  const introspection = await postForm(`${t.context.url}/introspect`, { token: viaPost.json.access_token, client_id: rs1.id, client_secret: rs1.secret });
  t.is(introspection.json.active, true);
  const revocation = await postForm(`${t.context.url}/revoke`, { token: viaPost.json.access_token, client_id: confB.id, client_secret: confB.secret });
  t.is(revocation.status, 200);
  t.is((await t.context.introspect(viaPost.json.access_token)).json.active, false);
});

test('META-06 no array anywhere is empty; response_types_supported is ["code"] now that /authorize exists', async (t) => {
  const { json } = await metadata(t.context);
  t.deepEqual(json.response_types_supported, ['code']);
  const found = arrays(json);
  t.true(found.length >= 4, 'the metadata does have arrays to check');
  for (const [path, array] of found) t.not(array.length, 0, `${path} is empty`);
});

test('META-06 an issuer with no client at all omits scopes_supported rather than sending []', async (t) => {
  const bare = await startIssuer();
  try {
    const { json, status } = await metadata(bare);
    t.is(status, 200);
    t.false('scopes_supported' in json);
    t.deepEqual(json.response_types_supported, ['code']);
    for (const [path, array] of arrays(json)) t.not(array.length, 0, `${path} is empty`);
    t.is(json.issuer, bare.issuer);
  } finally {
    await bare.close();
  }
});

test('META-07 scopes_supported lists the scopes clients may be granted, each once', async (t) => {
  const { json } = await metadata(t.context);
  t.true(Array.isArray(json.scopes_supported));
  for (const scope of ['read', 'write', 'admin']) t.true(json.scopes_supported.includes(scope), scope);
  t.is(new Set(json.scopes_supported).size, json.scopes_supported.length);
  for (const scope of json.scopes_supported) t.regex(scope, /^[\x21\x23-\x5B\x5D-\x7E]+$/);
  // The admin client holds gatehouse:admin; that scope is for operators and not advertised.
  t.false(json.scopes_supported.includes('gatehouse:admin'));
});

test('META-01/02 an issuer with a path: metadata at /.well-known/oauth-authorization-server/tenant with that issuer', async (t) => {
  const issuer = 'http://localhost:1234/tenant';
  const world = await startWorld({ env: { GATEHOUSE_ISSUER: issuer } });
  try {
    const reply = await metadata(world, '/tenant');
    t.is(reply.status, 200);
    t.regex(reply.headers.get('content-type') ?? '', /^application\/json(;|$)/);
    t.is(reply.json.issuer, issuer);
    t.is(reply.json.token_endpoint, `${issuer}/token`);
    t.is(reply.json.jwks_uri, `${issuer}/.well-known/jwks.json`);
    t.is(reply.json.introspection_endpoint, `${issuer}/introspect`);
    t.is(reply.json.revocation_endpoint, `${issuer}/revoke`);
    const { access } = await world.login();
    t.is(decodeJwt(access).payload.iss, issuer, 'the tokens carry the configured issuer');
    t.is((await world.introspect(access)).json.active, true);
    t.is(decodeJwt(await world.adminToken()).payload.aud, issuer, 'the admin audience is the configured issuer');
    // The path-inserted location is the one RFC 8414 §3.1 defines; another tenant path is not it.
    t.is((await metadata(world, '/other')).status, 404);
    // The endpoints are served where the metadata says: under the issuer's path, not at the root.
    t.is((await send(`${world.url}/tenant/.well-known/jwks.json`)).status, 200);
    t.is((await send(`${world.url}/token`, { method: 'POST' })).status, 404);
  } finally {
    await world.close();
  }
});

test('GATEHOUSE_ISSUER: plain http is refused for a host that is not loopback', async (t) => {
  const dir = tempDir();
  try {
    await t.throwsAsync(startWorld({ dir, env: { GATEHOUSE_ISSUER: 'http://auth.example.test' } }), { message: /GATEHOUSE_ISSUER/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
