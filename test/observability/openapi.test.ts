/**
 * Issue #13: GET /openapi.json describes every endpoint; the document validates against the OpenAPI 3.1 schema;
 * and (test/helpers/issuer.ts) every answer of every in-process issuer in the suite is checked against it. Here:
 * the checker itself refuses what the document does not say, so that check cannot pass by accident.
 */
import test from 'ava';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startWorld } from '../helpers/fixtures.js';
import { send } from '../helpers/http.js';
import { OpenApiChecker } from '../helpers/openapi.js';

test('GET /openapi.json is an OpenAPI 3.1 document that the official schema accepts, naming this issuer', async (t) => {
  const w = await startWorld({ env: { GATEHOUSE_ISSUER: 'http://localhost:1234/tenant' } });
  t.teardown(() => w.close());
  const reply = await send(`${w.url}/openapi.json`);
  t.is(reply.status, 200);
  t.regex(reply.headers.get('content-type') ?? '', /^application\/json/);
  const document = reply.json;
  t.is(document.openapi, '3.1.0');
  t.deepEqual(document.servers, [{ url: 'http://localhost:1234' }]);
  for (const path of ['/tenant/token', '/tenant/introspect', '/tenant/revoke', '/tenant/.well-known/jwks.json', '/.well-known/oauth-authorization-server/tenant', '/tenant/admin/users/{username}/sessions', '/tenant/admin/sessions/{sid}', '/healthz', '/readyz', '/openapi.json']) {
    t.truthy(document.paths[path], path);
  }
  const validator = new Validator();
  const result = await validator.validate(document);
  t.true(result.valid, JSON.stringify(result.errors, null, 1)?.slice(0, 2000));
  t.is(validator.version, '3.1');
});

test('the checker refuses an undocumented status, a missing header, a wrong media type and a body off its schema', (t) => {
  const checker = new OpenApiChecker('http://localhost:4000');
  const ok = { method: 'POST', path: '/introspect', status: 200, headers: { 'x-request-id': 'abc', 'cache-control': 'no-store' }, contentType: 'application/json; charset=utf-8', body: { active: false } };
  t.deepEqual(checker.check(ok), []);
  t.regex(checker.check({ ...ok, status: 418 }).join(), /not a documented answer/);
  t.regex(checker.check({ ...ok, headers: { 'x-request-id': 'abc' } }).join(), /header Cache-Control is missing/);
  t.regex(checker.check({ ...ok, contentType: 'text/html' }).join(), /content type text\/html is not documented/);
  t.regex(checker.check({ ...ok, body: { active: false, username: 'leak' } }).join(), /body/);
  t.regex(checker.check({ ...ok, body: { active: 'yes' } }).join(), /body/);
  t.regex(checker.check({ ...ok, path: '/nowhere', status: 200 }).join(), /not a documented answer/);
  t.deepEqual(checker.check({ ...ok, path: '/nowhere', status: 404, body: { error: 'not_found', error_description: 'No such resource' } }), []);
  t.regex(checker.check({ ...ok, method: 'GET', status: 405, body: { error: 'method_not_allowed' } }).join(), /header Allow is missing/);
  t.regex(checker.check({ ...ok, status: 401, body: { error: 'invalid_client' } }).join(), /WWW-Authenticate/);
  t.regex(checker.check({ method: 'POST', path: '/revoke', status: 200, headers: { 'x-request-id': 'a', 'cache-control': 'no-store' }, contentType: 'text/plain', body: 'x' }).join(), /a body where the document has none/);
});
