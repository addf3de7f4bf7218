/**
 * Two real server processes on one database (a SQLite file, or PostgreSQL in the second run), rotating keys every few seconds of real time: exactly one
 * current key at every moment, and every token either instance issues verifies through jose's
 * createRemoteJWKSet against either instance's JWKS, with a cache that honours the JWKS max-age and does not
 * refetch on an unknown kid (cooldown 30 s): a key that signs before it was published would fail here.
 */
import test from 'ava';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { loadConfig } from '../../src/config.js';
import { createDatabase } from '../../src/storage/database.js';
import { basic, decodeJwt, send } from '../helpers/http.js';
import { cleanup, nowSeconds, sandbox, startServerProcess } from '../helpers/process.js';

test.after.always(cleanup);

const ISSUER = 'http://localhost:9';
const client = { id: 'svc', secret: 'svc-0123456789abcdef0123456789abcdef' };

test('two instances on one database: one current key at every moment, every token verifies against either JWKS', async (t) => {
  t.timeout(90_000);
  // Pre-publication = 1 + 0 + 5 = 6 s; a retired key stays 8 + 0 + 5 = 13 s.
  const box = await sandbox({
    GATEHOUSE_ISSUER: ISSUER,
    GATEHOUSE_KEY_SECRETS: 'multi-instance-secret-0123456789abcdef',
    GATEHOUSE_KEY_ROTATION_INTERVAL: '1',
    GATEHOUSE_JWKS_MAX_AGE: '1',
    GATEHOUSE_CLOCK_LEEWAY: '0',
    GATEHOUSE_ACCESS_TOKEN_TTL: '8',
  });
  await box.cliJson(['clients', 'create', '--id', client.id, '--secret', client.secret, '--grants', 'client_credentials']);
  const instances = await Promise.all([startServerProcess({ env: box.env }), startServerProcess({ env: box.env })]);
  const keySets = instances.map((instance) =>
    createRemoteJWKSet(new URL(`${instance.url}/.well-known/jwks.json`), { cacheMaxAge: 1000, cooldownDuration: 30_000 }),
  );
  const db = createDatabase(loadConfig(box.env).database);
  t.teardown(() => db.destroy());
  const currentKeys = async () => Number((await db('signing_keys').where({ state: 'current' }).count({ n: '*' }))[0]!.n);

  const live: Array<{ token: string; exp: number }> = [];
  const signingKids = new Set<string>();
  let checks = 0;
  const deadline = Date.now() + 60_000;
  while (signingKids.size < 4 && Date.now() < deadline) {
    t.is(await currentKeys(), 1, 'exactly one current key');
    for (const instance of instances) {
      const reply = await send(`${instance.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.id, client.secret) },
        body: 'grant_type=client_credentials',
      });
      t.is(reply.status, 200);
      const token = reply.json.access_token as string;
      live.push({ token, exp: decodeJwt(token).payload.exp });
      signingKids.add(decodeJwt(token).header.kid);
    }
    // Every token that has not expired verifies against both instances' JWKS.
    const now = nowSeconds();
    for (const { token } of live.filter((entry) => entry.exp > now + 1)) {
      for (const keySet of keySets) {
        await t.notThrowsAsync(jwtVerify(token, keySet, { issuer: ISSUER, typ: 'at+jwt' }), `kid ${decodeJwt(token).header.kid}`);
        checks++;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  t.true(signingKids.size >= 4, `at least three rotations happened (${signingKids.size} signing keys)`);
  t.true(checks > 100, `${checks} verifications`);
  for (const instance of instances) t.is(await instance.stop('SIGTERM'), 0);
});
