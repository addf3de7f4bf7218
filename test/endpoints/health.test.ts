/** GET /healthz and GET /readyz, what a load balancer polls. */
import test from 'ava';
import { startWorld } from '../helpers/fixtures.js';
import { send } from '../helpers/http.js';

test('healthz answers 200 while the process runs; readyz 200 with the database and a signing key', async (t) => {
  const world = await startWorld();
  t.teardown(() => world.close());
  const health = await send(`${world.url}/healthz`);
  t.is(health.status, 200);
  t.deepEqual(health.json, { status: 'ok' });
  const ready = await send(`${world.url}/readyz`);
  t.is(ready.status, 200);
  t.deepEqual(ready.json, { status: 'ready' });
  t.is((await send(`${world.url}/readyz`, { method: 'POST' })).status, 405);
});

test('readyz is 503 with Retry-After when the database cannot be reached; healthz stays 200', async (t) => {
  const world = await startWorld();
  // Close the issuer's database under it: every query now fails.
  await world.db.destroy();
  t.teardown(() => world.close().catch(() => undefined));
  const ready = await send(`${world.url}/readyz`);
  t.is(ready.status, 503);
  t.truthy(ready.headers.get('retry-after'));
  t.deepEqual(ready.json, { status: 'not_ready', database: false, signing_key: true });
  t.is((await send(`${world.url}/healthz`)).status, 200);
});
