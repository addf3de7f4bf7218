/** POST /token: request format and client authentication, for every grant (standards §1, TOK-*). */
import anyTest, { type TestFn } from 'ava';
import { API, auth, confA, confB, odd, startWorld, type World } from '../helpers/fixtures.js';
import { basic, decodeJwt, postForm, send } from '../helpers/http.js';

const test = anyTest as TestFn<World>;
test.before(async (t) => {
  t.context = await startWorld();
});
test.after.always(async (t) => {
  await t.context.close();
});

const ERROR_CHARS = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

function assertJsonError(t: any, reply: { status: number; headers: Headers; json: any }, status: number, error: string) {
  t.is(reply.status, status);
  t.regex(reply.headers.get('content-type') ?? '', /^application\/json/);
  t.is(reply.json?.error, error);
  if (reply.json?.error_description !== undefined) t.regex(reply.json.error_description, ERROR_CHARS, 'TOK-19 description charset');
  t.regex(reply.headers.get('cache-control') ?? '', /no-store/, 'TOK-18 no-store on errors');
  t.is(reply.headers.get('pragma'), 'no-cache');
}

test('TOK-01 GET /token is 405 with Allow: POST and issues nothing', async (t) => {
  const reply = await send(`${t.context.url}/token?grant_type=client_credentials`, { headers: { authorization: basic(confB.id, confB.secret) } });
  t.is(reply.status, 405);
  t.is(reply.headers.get('allow'), 'POST');
  t.is(reply.json.error, 'method_not_allowed');
  t.is(reply.json.access_token, undefined);
});

test('TOK-02 a JSON body is 400 invalid_request, never a token', async (t) => {
  const reply = await send(`${t.context.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basic(confB.id, confB.secret) },
    body: JSON.stringify({ grant_type: 'client_credentials' }),
  });
  assertJsonError(t, reply, 400, 'invalid_request');
});

test('TOK-02 a missing Content-Type is 400 invalid_request', async (t) => {
  const reply = await send(`${t.context.url}/token`, {
    method: 'POST',
    headers: { authorization: basic(confB.id, confB.secret) },
    body: new Blob(['grant_type=client_credentials']),
  });
  assertJsonError(t, reply, 400, 'invalid_request');
});

test('TOK-02 media type comparison ignores case and parameters', async (t) => {
  const reply = await postForm(`${t.context.url}/token`, 'grant_type=client_credentials', {
    auth: auth(confB),
    headers: { 'content-type': 'Application/X-WWW-Form-Urlencoded; charset=UTF-8' },
  });
  t.is(reply.status, 200);
});

test('TOK-03 a repeated grant_type is 400 invalid_request', async (t) => {
  const reply = await postForm(`${t.context.url}/token`, 'grant_type=client_credentials&grant_type=client_credentials', { auth: auth(confB) });
  assertJsonError(t, reply, 400, 'invalid_request');
});

test('TOK-03 a repeated scope is 400 invalid_request', async (t) => {
  const reply = await postForm(`${t.context.url}/token`, 'grant_type=client_credentials&scope=read&scope=write', { auth: auth(confB) });
  assertJsonError(t, reply, 400, 'invalid_request');
});

test('TOK-04 an empty scope is treated as omitted', async (t) => {
  const withEmpty = await postForm(`${t.context.url}/token`, 'grant_type=client_credentials&scope=', { auth: auth(confB) });
  const without = await postForm(`${t.context.url}/token`, 'grant_type=client_credentials', { auth: auth(confB) });
  t.is(withEmpty.status, 200);
  t.is(withEmpty.json.scope, without.json.scope);
  t.is(withEmpty.json.scope, 'read write admin');
});

test('TOK-04 an empty username is a missing parameter: invalid_request', async (t) => {
  const reply = await t.context.token({ grant_type: 'password', username: '', password: 'x' });
  assertJsonError(t, reply, 400, 'invalid_request');
});

test('TOK-05 unknown parameters are ignored', async (t) => {
  const reply = await postForm(`${t.context.url}/token`, { grant_type: 'client_credentials', foo: 'bar' }, { auth: auth(confB) });
  t.is(reply.status, 200);
});

test('TOK-06 a missing grant_type is 400 invalid_request', async (t) => {
  const reply = await postForm(`${t.context.url}/token`, { scope: 'read' }, { auth: auth(confB) });
  assertJsonError(t, reply, 400, 'invalid_request');
});

test('TOK-07 unsupported grant types are 400 unsupported_grant_type', async (t) => {
  // authorization_code, the standards' second example, is supported since issue #14 (test/grants/authorization-code.test.ts).
  for (const grant of ['urn:example:foo', 'implicit', 'urn:ietf:params:oauth:grant-type:device_code']) {
    const reply = await postForm(`${t.context.url}/token`, { grant_type: grant }, { auth: auth(confB) });
    assertJsonError(t, reply, 400, 'unsupported_grant_type');
  }
});

test('TOK-08 a grant the client may not use is 400 unauthorized_client', async (t) => {
  const reply = await postForm(`${t.context.url}/token`, { grant_type: 'password', username: 'alice', password: 'correct-horse' }, { auth: auth(confB) });
  assertJsonError(t, reply, 400, 'unauthorized_client');
});

test('TOK-09 a wrong secret via Basic is 401 invalid_client with a Basic challenge', async (t) => {
  const reply = await postForm(`${t.context.url}/token`, { grant_type: 'client_credentials' }, { auth: [confB.id, 'WRONG'] });
  assertJsonError(t, reply, 401, 'invalid_client');
  t.is(reply.headers.get('www-authenticate'), 'Basic realm="gatehouse"');
});

test('TOK-10 an unknown client answers exactly as a wrong secret does', async (t) => {
  const wrong = await postForm(`${t.context.url}/token`, { grant_type: 'client_credentials' }, { auth: [confB.id, 'WRONG'] });
  const unknown = await postForm(`${t.context.url}/token`, { grant_type: 'client_credentials' }, { auth: ['nope', 'x'] });
  t.is(unknown.status, wrong.status);
  t.is(unknown.text, wrong.text);
  const strip = (headers: Headers) => [...headers].filter(([name]) => name !== 'date' && name !== 'x-request-id');
  t.deepEqual(strip(unknown.headers), strip(wrong.headers));
});

test('TOK-11 a wrong secret via client_secret_post is 401 invalid_client with a challenge', async (t) => {
  const reply = await postForm(`${t.context.url}/token`, { grant_type: 'client_credentials', client_id: confB.id, client_secret: 'WRONG' });
  assertJsonError(t, reply, 401, 'invalid_client');
  t.truthy(reply.headers.get('www-authenticate'));
});

test('TOK-12 no client authentication is 401 invalid_client', async (t) => {
  const reply = await postForm(`${t.context.url}/token`, { grant_type: 'client_credentials' });
  assertJsonError(t, reply, 401, 'invalid_client');
  t.is(reply.headers.get('www-authenticate'), 'Basic realm="gatehouse"');
});

test('TOK-12 a client_id alone does not authenticate a confidential client', async (t) => {
  const reply = await postForm(`${t.context.url}/token`, { grant_type: 'client_credentials', client_id: confB.id });
  assertJsonError(t, reply, 401, 'invalid_client');
});

test('TOK-13 Basic and client_secret_post together are 400 invalid_request', async (t) => {
  const reply = await postForm(
    `${t.context.url}/token`,
    { grant_type: 'client_credentials', client_id: confB.id, client_secret: confB.secret },
    { auth: auth(confB) },
  );
  assertJsonError(t, reply, 400, 'invalid_request');
});

test('TOK-13 a body client_id that differs from Basic is 400 invalid_request', async (t) => {
  const reply = await postForm(`${t.context.url}/token`, { grant_type: 'client_credentials', client_id: confA.id }, { auth: auth(confB) });
  assertJsonError(t, reply, 400, 'invalid_request');
});

test('TOK-14 credentials in the query string are refused', async (t) => {
  const reply = await postForm(`${t.context.url}/token?client_id=${confB.id}&client_secret=${confB.secret}`, { grant_type: 'client_credentials' });
  assertJsonError(t, reply, 400, 'invalid_request');
});

test('TOK-14 any query parameter on /token is refused, even with valid Basic credentials', async (t) => {
  const reply = await postForm(`${t.context.url}/token?grant_type=client_credentials`, { grant_type: 'client_credentials' }, { auth: auth(confB) });
  assertJsonError(t, reply, 400, 'invalid_request');
});

test('TOK-15 Basic credentials are form-urlencoded before base64', async (t) => {
  const reply = await postForm(`${t.context.url}/token`, { grant_type: 'client_credentials' }, { auth: auth(odd) });
  t.is(reply.status, 200);
  t.is(decodeJwt(reply.json.access_token).payload.client_id, 'odd:client');
});

test('TOK-15 control: raw un-encoded Basic credentials do not authenticate', async (t) => {
  const raw = 'Basic ' + Buffer.from(`${odd.id}:${odd.secret}`).toString('base64');
  const reply = await postForm(`${t.context.url}/token`, { grant_type: 'client_credentials' }, { headers: { authorization: raw } });
  assertJsonError(t, reply, 401, 'invalid_client');
});

test('TOK-16 client_secret_post is accepted and advertised', async (t) => {
  const reply = await postForm(`${t.context.url}/token`, { grant_type: 'client_credentials', client_id: confB.id, client_secret: confB.secret });
  t.is(reply.status, 200);
  const metadata = await send(`${t.context.url}/.well-known/oauth-authorization-server`);
  t.true(metadata.json.token_endpoint_auth_methods_supported.includes('client_secret_post'));
});

test('TOK-17 every token response is JSON with no-store and no-cache', async (t) => {
  const replies = [
    await postForm(`${t.context.url}/token`, { grant_type: 'client_credentials' }, { auth: auth(confB) }),
    await t.context.token({ grant_type: 'password', username: 'alice', password: 'correct-horse' }),
  ];
  for (const reply of replies) {
    t.is(reply.status, 200);
    t.regex(reply.headers.get('content-type') ?? '', /^application\/json/);
    t.regex(reply.headers.get('cache-control') ?? '', /no-store/);
    t.is(reply.headers.get('pragma'), 'no-cache');
  }
});

test('a non-Basic Authorization scheme at /token is 401 invalid_client', async (t) => {
  const reply = await postForm(`${t.context.url}/token`, { grant_type: 'client_credentials' }, { headers: { authorization: 'Bearer abc' } });
  assertJsonError(t, reply, 401, 'invalid_client');
});

test('malformed percent-encoding, invalid UTF-8 and NUL in the body are 400 invalid_request', async (t) => {
  for (const body of ['grant_type=client_credentials&scope=%zz', 'grant_type=client_credentials&scope=%ff%fe', 'grant_type=client_credentials&scope=a%00b', 'grant_type=client%']) {
    const reply = await postForm(`${t.context.url}/token`, body, { auth: auth(confB) });
    assertJsonError(t, reply, 400, 'invalid_request');
  }
});

test('a body over 16 KiB is 413 with a JSON error', async (t) => {
  const reply = await postForm(`${t.context.url}/token`, { grant_type: 'client_credentials', pad: 'x'.repeat(17 * 1024) }, { auth: auth(confB) });
  t.is(reply.status, 413);
  t.is(reply.json.error, 'invalid_request');
});

test('the audience defaults to the client first audience', async (t) => {
  const reply = await postForm(`${t.context.url}/token`, { grant_type: 'client_credentials' }, { auth: auth(confB) });
  t.is(decodeJwt(reply.json.access_token).payload.aud, API);
});
