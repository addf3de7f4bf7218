/**
 * PostgreSQL pulled away for a few seconds: the issuer answers 503 temporarily_unavailable with Retry-After
 * (readiness too), then normal answers again by itself, with no restart and no session lost. The database is
 * cut at a TCP proxy, so the shared PostgreSQL server that other test files use is never touched.
 */
import test from 'ava';
import { freshDatabase, onPostgres } from '../helpers/database.js';
import { alice, startWorld } from '../helpers/fixtures.js';
import { send } from '../helpers/http.js';
import { tempDir } from '../helpers/issuer.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

(onPostgres ? test : test.skip)('a database outage gives 503s, then the issuer recovers by itself and no session is lost', async (t) => {
  t.timeout(120_000);
  const dir = tempDir();
  const database = await freshDatabase(dir);
  const direct = new URL(database.url);
  const proxy = await startTcpProxy(direct.hostname, Number(direct.port || 5432));
  const viaProxy = new URL(database.url);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  const world = await startWorld({
    dir,
    database: { url: viaProxy.toString(), drop: database.drop },
    env: { GATEHOUSE_DB_CONNECT_TIMEOUT: '1', GATEHOUSE_DB_STATEMENT_TIMEOUT: '2' },
  });
  t.teardown(async () => {
    proxy.restore();
    await world.close();
    await proxy.close();
    await database.drop();
  });

  const before = await world.login(alice);
  t.true((await world.introspect(before.access)).json.active);

  proxy.cut();
  for (const reply of [await world.introspect(before.access), await world.refresh(before.refresh), await world.token({ grant_type: 'client_credentials' })]) {
    t.is(reply.status, 503);
    t.deepEqual(reply.json.error, 'temporarily_unavailable');
    t.truthy(reply.headers.get('retry-after'));
  }
  t.is((await send(`${world.url}/readyz`)).status, 503);
  t.is((await send(`${world.url}/healthz`)).status, 200, 'the process itself is alive');

  await new Promise((resolve) => setTimeout(resolve, 2000));
  proxy.restore();

  t.is((await send(`${world.url}/readyz`)).status, 200, 'ready again without a restart');
  t.true((await world.introspect(before.access)).json.active, 'the session from before the outage is alive');
  const renewed = await world.refresh(before.refresh);
  t.is(renewed.status, 200, 'the refresh token that failed with 503 was not consumed');
  t.is((await world.login(alice)).body.token_type, 'Bearer');
});
