/**
 * 600 generated malformed requests across every endpoint: no 5xx, a JSON error body on every 4xx, and a live
 * server afterwards.
 */
import { Agent, request } from 'node:http';
import anyTest, { type TestFn } from 'ava';
import fc from 'fast-check';
import { admin, alice, confA, rs1, startWorld, type World } from '../helpers/fixtures.js';
import { basic, send } from '../helpers/http.js';

const test = anyTest as TestFn<World>;
test.before(async (t) => {
  // Two trusted hops, so that the X-Forwarded-For parser meets the hostile values too.
  t.context = await startWorld({ env: { GATEHOUSE_TRUST_PROXY_HOPS: '2' } });
});
test.after.always((t) => t.context.close());

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

function fire(base: string, spec: Sent): Promise<{ status: number; contentType: string; text: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method: spec.method, path: spec.path, headers: { ...spec.headers, 'content-length': String(spec.body.length) }, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(spec.body);
  });
}

function requests(world: World, valid: { access: string; refresh: string; adminToken: string }) {
  const path = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom('/token', '/token', '/token', '/introspect', '/introspect', '/revoke', '/admin/users/alice/sessions', '/admin/sessions/x') },
    { weight: 1, arbitrary: fc.constantFrom('/.well-known/jwks.json', '/.well-known/oauth-authorization-server', '/healthz', '/readyz') },
    fc.constantFrom('/token?x=1', '/token/../introspect', '/admin/users/%ZZ/sessions', '/admin/users/%00/sessions', '//token', '/%2e%2e/token', '/admin/sessions/' + '%41'.repeat(300)),
    fc.webPath().map((p) => p || '/'),
  );
  const method = fc.constantFrom('GET', 'POST', 'POST', 'POST', 'POST', 'POST', 'DELETE', 'PUT', 'OPTIONS', 'HEAD');
  const contentType = fc.constantFrom('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=latin1', 'application/json', 'text/plain', 'multipart/form-data; boundary=x', '', 'application/x-www-form-urlencoded;;;');
  const authorization = fc.constantFrom(
    basic(confA.id, confA.secret),
    basic(rs1.id, rs1.secret),
    basic(admin.id, admin.secret),
    'Basic ' + Buffer.from('no-colon').toString('base64'),
    'Basic !!!',
    'Basic ' + Buffer.from('%zz:%zz').toString('base64'),
    `Bearer ${valid.adminToken}`,
    'Bearer',
    'Bearer a.b.c',
    'Digest x',
    '',
  );
  const value = fc.oneof(
    fc.constantFrom(valid.access, valid.refresh, 'password', 'refresh_token', 'client_credentials', alice.username, alice.password, confA.id, confA.secret),
    fc.string({ maxLength: 40 }),
    fc.string({ maxLength: 40, unit: 'binary' }),
  );
  const name = fc.constantFrom('grant_type', 'username', 'password', 'scope', 'resource', 'refresh_token', 'token', 'token_type_hint', 'client_id', 'client_secret', 'x');
  const encoded = fc.array(fc.tuple(name, value), { maxLength: 6 }).map((pairs) => Buffer.from(pairs.map(([n, v]) => `${encodeURIComponent(n)}=${encodeURIComponent(v)}`).join('&')));
  const raw = fc.oneof(
    encoded,
    fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
    fc.constantFrom('grant_type=password&grant_type=password', 'a=%', 'a=%C3%28', 'token=%00', '&&&==&', 'grant_type=refresh_token&refresh_token=' + '%FF'.repeat(50)).map((s) => Buffer.from(s)),
  );
  const headerText = fc.string({ maxLength: 60, unit: fc.constantFrom('1', '2', '.', ':', ',', ' ', 'f', 'x', '[', ']', '%', '"') });
  const forwardedFor = fc.oneof(
    fc.constant(''),
    headerText,
    fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), headerText), { maxLength: 5 }).map((entries) => entries.join(', ')),
    fc.constantFrom('::ffff:10.0.0.1', '999.1.1.1', ', , ,', 'x'.repeat(3000)),
  );
  const origin = fc.oneof(fc.constant(''), fc.constantFrom('null', 'https://evil.example', 'https://app.example', '*', 'https://a, https://b'), headerText);
  return fc.record({ method, path, contentType, authorization, body: raw, forwardedFor, origin }).map(
    ({ method: m, path: p, contentType: c, authorization: a, body, forwardedFor: f, origin: o }): Sent => ({
      method: m,
      path: p,
      headers: { ...(c ? { 'content-type': c } : {}), ...(a ? { authorization: a } : {}), ...(f ? { 'x-forwarded-for': f } : {}), ...(o ? { origin: o } : {}) },
      body: m === 'GET' || m === 'HEAD' ? Buffer.alloc(0) : body,
    }),
  );
}

test('600 malformed requests: no 5xx, a JSON error on every 4xx, and the server still answers', async (t) => {
  const world = t.context;
  const { access, refresh } = await world.login(alice);
  const valid = { access, refresh, adminToken: await world.adminToken() };
  const samples = fc.sample(requests(world, valid), { numRuns: 600, seed: 20261129 });
  const statuses = new Map<number, number>();
  for (const spec of samples) {
    const reply = await fire(world.url, spec);
    statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
    const what = `${spec.method} ${spec.path} ${JSON.stringify(spec.headers)} ${JSON.stringify(spec.body.toString('latin1').slice(0, 80))}`;
    t.true(reply.status < 500, `${reply.status} for ${what}: ${reply.text}`);
    if (reply.status >= 400 && spec.method !== 'HEAD') {
      t.regex(reply.contentType, /^application\/json/, what);
      t.is(typeof JSON.parse(reply.text).error, 'string', what);
    }
  }
  t.log('statuses seen:', JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b))));
  t.is((await send(`${world.url}/healthz`)).status, 200);
  t.true((await world.introspect(access)).json.active !== undefined);
});
