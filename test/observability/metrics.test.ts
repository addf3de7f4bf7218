/**
 * Issue #13: Prometheus metrics. A scripted mix of requests (logins, a failed login, a refresh, a reuse, an admin
 * end, introspections, a key rotation) moves each counter by exactly what was done, scraped from a real metrics
 * listener; labels never carry a user, token or session id.
 */
import test from 'ava';
import { startMetricsServer } from '../../src/observability/metrics-server.js';
import { alice, bob, confA, rs1, startWorld, type World } from '../helpers/fixtures.js';
import { decodeJwt, send } from '../helpers/http.js';

type Samples = Map<string, number>;

/** The exposition format, one sample a line: `name{label="value",…} value`. Keys are `name{labels}` as printed. */
function parse(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

async function scraper(t: { teardown(fn: () => void): void }, w: World) {
  const { server, port } = await startMetricsServer(w.metrics, '127.0.0.1', 0);
  t.teardown(() => server.close());
  return async (): Promise<{ text: string; samples: Samples }> => {
    const reply = await send(`http://127.0.0.1:${port}/metrics`);
    if (reply.status !== 200) throw new Error(`scrape answered ${reply.status}`);
    return { text: reply.text, samples: parse(reply.text) };
  };
}

const delta = (before: Samples, after: Samples, key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);

test('a scripted mix moves each counter by exactly what was done', async (t) => {
  const w = await startWorld({ env: { GATEHOUSE_LOCKOUT_THRESHOLD: '1000' } });
  t.teardown(() => w.close());
  const scrape = await scraper(t, w);
  const before = (await scrape()).samples;

  const first = await w.login(alice);
  const second = await w.login(bob);
  t.is((await w.token({ grant_type: 'password', username: alice.username, password: 'wrong-password' })).status, 400);
  const renewed = await w.refresh(first.refresh);
  t.is(renewed.status, 200);
  t.is((await w.refresh(first.refresh)).json.error, 'invalid_grant'); // reuse: alice's session ends
  const adminToken = await w.adminToken();
  const sid = decodeJwt(second.access).payload.sid;
  t.is((await send(`${w.url}/admin/sessions/${sid}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } })).status, 204);
  t.is((await send(`${w.url}/admin/sessions/${sid}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } })).status, 204, 'ending it again ends nothing');
  const cc = await w.token({ grant_type: 'client_credentials' }, confA);
  for (let i = 0; i < 3; i++) t.true((await w.introspect(cc.json.access_token)).json.active);
  t.false((await w.introspect(first.access)).json.active);
  t.false((await w.introspect(second.access)).json.active);
  await w.keys.rotate('now');

  const { samples: after, text } = await scrape();
  const expected: Record<string, number> = {
    'gatehouse_logins_total{result="ok"}': 2,
    'gatehouse_logins_total{result="failed"}': 1,
    'gatehouse_logins_total{result="throttled"}': 0,
    'gatehouse_tokens_issued_total{grant_type="password",client_id="conf-A"}': 2,
    'gatehouse_tokens_issued_total{grant_type="refresh_token",client_id="conf-A"}': 1,
    'gatehouse_tokens_issued_total{grant_type="client_credentials",client_id="admin"}': 1,
    'gatehouse_tokens_issued_total{grant_type="client_credentials",client_id="conf-A"}': 1,
    'gatehouse_refresh_reuse_detected_total': 1,
    'gatehouse_sessions_ended_total{cause="reuse"}': 1,
    'gatehouse_sessions_ended_total{cause="admin"}': 1,
    'gatehouse_introspections_total{result="active",caller="rs-1"}': 3,
    'gatehouse_introspections_total{result="inactive",caller="rs-1"}': 2,
    'gatehouse_key_rotations_total': 1,
    'gatehouse_http_requests_total{route="/token",method="POST",status_class="2xx"}': 5,
    'gatehouse_http_requests_total{route="/token",method="POST",status_class="4xx"}': 2,
    'gatehouse_http_requests_total{route="/introspect",method="POST",status_class="2xx"}': 5,
    'gatehouse_http_requests_total{route="/admin/sessions/:sid",method="DELETE",status_class="2xx"}': 2,
    'gatehouse_http_request_duration_seconds_count{route="/introspect",method="POST",status_class="2xx"}': 5,
  };
  for (const [key, count] of Object.entries(expected)) t.is(delta(before, after, key), count, key);
  t.is(after.get('gatehouse_signing_keys{state="current"}'), 1);
  t.is(after.get('gatehouse_signing_keys{state="next"}'), 1);
  t.is(after.get('gatehouse_signing_keys{state="retired"}'), 1);
  t.is(after.get('gatehouse_signing_key_age_seconds'), 0, 'the new key has just started signing');
  t.true(after.has('gatehouse_db_pool_connections{state="in_use"}'));
  t.is(after.get('gatehouse_argon2_queue_length'), 0);

  // Bounded labels: no username, sid, jti or token anywhere.
  for (const secretish of [alice.username, bob.username, sid, decodeJwt(first.access).payload.jti, first.refresh, first.access.slice(0, 40)]) {
    t.false(text.includes(secretish), `the exposition names ${secretish}`);
  }
  t.regex(text, /# TYPE gatehouse_http_request_duration_seconds histogram/);
});

test('a lockout, a load refusal and a database outage are counted', async (t) => {
  const w = await startWorld({ env: { GATEHOUSE_LOCKOUT_THRESHOLD: '2', GATEHOUSE_TRUST_PROXY_HOPS: '1' } });
  t.teardown(() => w.close());
  const scrape = await scraper(t, w);
  const before = (await scrape()).samples;
  const guess = () =>
    w.token({ grant_type: 'password', username: alice.username, password: 'nope-nope' }).then((reply) => reply.status);
  t.deepEqual([await guess(), await guess(), await guess()], [400, 400, 429]);
  const after = (await scrape()).samples;
  t.is(delta(before, after, 'gatehouse_logins_total{result="failed"}'), 2);
  t.is(delta(before, after, 'gatehouse_logins_total{result="throttled"}'), 1);
  t.is(delta(before, after, 'gatehouse_throttle_blocks_total{kind="blocked"}'), 1);
});

test('GATEHOUSE_METRICS_CLIENT_LABELS=false: client ids become "-"', async (t) => {
  const w = await startWorld({ env: { GATEHOUSE_METRICS_PORT: '0', GATEHOUSE_METRICS_CLIENT_LABELS: 'false' } });
  t.teardown(() => w.close());
  const scrape = await scraper(t, w);
  await w.token({ grant_type: 'client_credentials' }, confA);
  await w.introspect('not-a-token', rs1);
  const { text, samples } = await scrape();
  t.is(samples.get('gatehouse_tokens_issued_total{grant_type="client_credentials",client_id="-"}'), 1);
  t.is(samples.get('gatehouse_introspections_total{result="inactive",caller="-"}'), 1);
  t.false(text.includes(confA.id));
  t.false(text.includes(rs1.id));
});

test('the metrics listener serves GET /metrics only; the public port has no /metrics', async (t) => {
  const w = await startWorld();
  t.teardown(() => w.close());
  const { server, port } = await startMetricsServer(w.metrics, '127.0.0.1', 0);
  t.teardown(() => server.close());
  const metrics = await send(`http://127.0.0.1:${port}/metrics`);
  t.is(metrics.status, 200);
  t.regex(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  t.is((await send(`http://127.0.0.1:${port}/`)).status, 404);
  t.is((await send(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status, 404);
  t.is((await send(`${w.url}/metrics`)).status, 404, 'never on the public port');
});
