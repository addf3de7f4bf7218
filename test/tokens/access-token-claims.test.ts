/**
 * The issued access token as RFC 9068 / RFC 8725 describe it (standards §5, JWT-01..JWT-08), decoded from the
 * tokens of a password login (PWD-01), a client_credentials request (CC-01) and a refresh (RT-01).
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { admin, API, confA, confB, OTHER_API, startWorld, type World } from '../helpers/fixtures.js';
import { assertTokenResponse } from '../helpers/grants.js';
import { decodeJwt, send, type Reply } from '../helpers/http.js';

const test = anyTest as TestFn<World>;
test.before(async (t) => {
  t.context = await startWorld();
});
test.after.always(async (t) => {
  await t.context.close();
});

type Grant = 'password' | 'client_credentials' | 'refresh_token';
const GRANTS: Grant[] = ['password', 'client_credentials', 'refresh_token'];

/** One token response of each kind, as a client receives it. */
async function issue(w: World, grant: Grant, extra: Record<string, string> = {}): Promise<Reply> {
  switch (grant) {
    case 'password':
      return w.token({ grant_type: 'password', username: 'alice', password: 'correct-horse', ...extra });
    case 'client_credentials':
      return w.token({ grant_type: 'client_credentials', ...extra }, confB);
    case 'refresh_token': {
      const login = await w.login();
      return w.refresh(login.refresh, extra);
    }
  }
}

async function jwks(w: World): Promise<JSONWebKeySet> {
  const reply = await send(`${w.url}/.well-known/jwks.json`);
  if (reply.status !== 200) throw new Error(`jwks failed: ${reply.status}`);
  return reply.json;
}

async function metadataIssuer(w: World): Promise<string> {
  return (await send(`${w.url}/.well-known/oauth-authorization-server`)).json.issuer;
}

const isInt = (value: unknown) => typeof value === 'number' && Number.isSafeInteger(value);

for (const grant of GRANTS) {
  test(`JWT-01 header of a ${grant} token: typ at+jwt, alg ES256, a kid that the JWKS publishes`, async (t) => {
    const reply = await issue(t.context, grant);
    const { header } = assertTokenResponse(t, reply);
    t.is(header.typ, 'at+jwt');
    t.is(header.alg, 'ES256');
    t.not(header.alg, 'none');
    t.false(/^HS/i.test(header.alg));
    t.is(typeof header.kid, 'string');
    t.deepEqual(Object.keys(header).sort(), ['alg', 'kid', 'typ'], 'no jku, x5u, jwk or crit');
    const keys = (await jwks(t.context)).keys;
    t.true(keys.some((key) => key.kid === header.kid), 'the kid is in the JWKS');
  });

  test(`JWT-03 required claims of a ${grant} token, iss equal to the metadata issuer`, async (t) => {
    const reply = await issue(t.context, grant);
    const { payload } = assertTokenResponse(t, reply);
    for (const claim of ['iss', 'sub', 'aud', 'client_id', 'jti', 'scope']) t.is(typeof payload[claim], 'string', `${claim} is a string`);
    for (const claim of ['exp', 'iat']) t.true(isInt(payload[claim]), `${claim} is an integer`);
    t.is(payload.iss, await metadataIssuer(t.context), 'iss == metadata issuer, byte for byte');
    t.is(payload.iss, t.context.issuer);
    t.is(payload.iat, t.context.clock.now(), 'iat comes from the injected clock');
    t.true(payload.jti.length >= 16);
    if (grant === 'client_credentials') {
      t.deepEqual(Object.keys(payload).sort(), ['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'scope', 'sub']);
      t.is(payload.sub, confB.id);
      t.is(payload.client_id, confB.id);
    } else {
      t.deepEqual(Object.keys(payload).sort(), ['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'scope', 'sid', 'sub']);
      t.is(payload.sub, t.context.aliceSub);
      t.is(payload.client_id, confA.id);
      t.is(typeof payload.sid, 'string');
    }
  });

  test(`JWT-04 the scope claim of a ${grant} token is the granted scope`, async (t) => {
    const narrow = await issue(t.context, grant, { scope: 'write' });
    t.is(narrow.json.scope, 'write');
    t.is(assertTokenResponse(t, narrow).payload.scope, 'write');
    const both = await issue(t.context, grant, { scope: 'write read' });
    t.deepEqual(assertTokenResponse(t, both).payload.scope.split(' ').sort(), ['read', 'write']);
    t.is(both.json.scope, decodeJwt(both.json.access_token).payload.scope);
  });

  test(`JWT-05 without resource the aud of a ${grant} token is the client first audience`, async (t) => {
    const { payload } = assertTokenResponse(t, await issue(t.context, grant));
    t.is(payload.aud, API);
  });

  test(`JWT-06 exp - iat equals expires_in for a ${grant} token, at most 3600`, async (t) => {
    const reply = await issue(t.context, grant);
    const { payload } = assertTokenResponse(t, reply);
    t.is(payload.exp - payload.iat, reply.json.expires_in);
    t.is(reply.json.expires_in, 300);
    t.true(reply.json.expires_in <= 3600);
  });

  test(`JWT-08 the signature of a ${grant} token verifies with the JWKS key named by kid`, async (t) => {
    const w = t.context;
    const reply = await issue(w, grant);
    const set = await jwks(w);
    const { header } = decodeJwt(reply.json.access_token);
    const key = set.keys.find((candidate) => candidate.kid === header.kid)!;
    t.truthy(key);
    t.is(key.alg, header.alg, 'the key is for exactly the algorithm of the header');
    t.is(key.use, 'sig');
    t.is(key.kty, 'EC');
    t.is(key.crv, 'P-256');
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) t.false(member in key, `no private member ${member}`);

    const { payload, protectedHeader } = await jwtVerify(reply.json.access_token, createLocalJWKSet(set), {
      issuer: w.issuer,
      audience: API,
      typ: 'at+jwt',
      algorithms: ['ES256'],
      currentDate: new Date(w.clock.now() * 1000),
    });
    t.is(protectedHeader.kid, header.kid);
    t.is(payload.client_id, grant === 'client_credentials' ? confB.id : confA.id);
  });
}

test('JWT-05 a resource parameter becomes aud; a client with no audience gets the issuer', async (t) => {
  const other = await t.context.token({ grant_type: 'client_credentials', resource: OTHER_API }, confB);
  t.is(assertTokenResponse(t, other).payload.aud, OTHER_API);
  const own = await t.context.token({ grant_type: 'client_credentials' }, admin);
  t.is(assertTokenResponse(t, own).payload.aud, t.context.issuer);
});

test('JWT-06 expires_in follows GATEHOUSE_ACCESS_TOKEN_TTL', async (t) => {
  const w = await startWorld({ env: { GATEHOUSE_ACCESS_TOKEN_TTL: '60' } });
  t.teardown(() => w.close());
  for (const grant of GRANTS) {
    const reply = await issue(w, grant);
    const { payload } = assertTokenResponse(t, reply);
    t.is(reply.json.expires_in, 60);
    t.is(payload.exp - payload.iat, 60);
    t.is(payload.iat, w.clock.now());
  }
});

test('JWT-07 100 issued tokens carry 100 distinct jti values', async (t) => {
  const jtis = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const grant = GRANTS[i % GRANTS.length]!;
    const reply = await issue(t.context, grant);
    t.is(reply.status, 200);
    jtis.add(decodeJwt(reply.json.access_token).payload.jti);
  }
  t.is(jtis.size, 100);
});

test('JWT-08 control: a token altered after signing does not verify', async (t) => {
  const reply = await issue(t.context, 'client_credentials');
  const [header, payload, signature] = reply.json.access_token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, scope: 'read write admin gatehouse:admin' })).toString('base64url')}.${signature}`;
  const options = { issuer: t.context.issuer, audience: API, typ: 'at+jwt', currentDate: new Date(t.context.clock.now() * 1000) };
  const set = createLocalJWKSet(await jwks(t.context));
  await t.notThrowsAsync(jwtVerify(reply.json.access_token, set, options));
  await t.throwsAsync(jwtVerify(forged, set, options));
  t.is((await t.context.introspect(forged)).text, '{"active":false}');
});

async function checkAlgorithm(t: ExecutionContext<unknown>, alg: string, kty: string) {
  const w = await startWorld({ env: { GATEHOUSE_SIGNING_ALG: alg } });
  t.teardown(() => w.close());
  const set = await jwks(w);
  for (const grant of GRANTS) {
    const reply = await issue(w, grant);
    const { header } = assertTokenResponse(t, reply);
    t.is(header.alg, alg);
    t.is(header.typ, 'at+jwt');
    const key = set.keys.find((candidate) => candidate.kid === header.kid);
    t.is(key?.alg, alg);
    t.is(key?.kty, kty);
    t.false('d' in (key ?? {}));
    await t.notThrowsAsync(
      jwtVerify(reply.json.access_token, createLocalJWKSet(set), {
        issuer: w.issuer,
        audience: API,
        typ: 'at+jwt',
        algorithms: [alg],
        currentDate: new Date(w.clock.now() * 1000),
      }),
    );
    t.is((await w.introspect(reply.json.access_token)).json.active, true);
  }
}

test('JWT-02 the issuer can sign and validate RS256', async (t) => {
  await checkAlgorithm(t, 'RS256', 'RSA');
});

test('JWT-02 PS256 and EdDSA are supported as well', async (t) => {
  await checkAlgorithm(t, 'PS256', 'RSA');
  await checkAlgorithm(t, 'EdDSA', 'OKP');
});
