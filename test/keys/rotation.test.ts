/**
 * Key rotation end to end, with an injected clock: next → current → retired → removed, as JWKS consumers and
 * resource servers see it, plus revocation, two instances on one database, and secret rotation at restart.
 */
import test from 'ava';
import { createLocalJWKSet } from 'jose';
import { openKeys, openRuntime } from '../../src/boot.js';
import { loadConfig } from '../../src/config.js';
import { KeySecretError } from '../../src/keys/encryption.js';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/log.js';
import { alice, startWorld, type World } from '../helpers/fixtures.js';
import { decodeJwt, send } from '../helpers/http.js';
import { freshDatabase } from '../helpers/database.js';
import { tempDir } from '../helpers/issuer.js';
import { join } from 'node:path';

// Pre-publication = 10 + 5 + 5 = 20 s; retirement = 30 + 5 + 5 = 40 s.
const SCHEDULE = {
  GATEHOUSE_KEY_ROTATION_INTERVAL: '100',
  GATEHOUSE_JWKS_MAX_AGE: '10',
  GATEHOUSE_CLOCK_LEEWAY: '5',
  GATEHOUSE_ACCESS_TOKEN_TTL: '30',
};

async function jwks(world: { url: string }) {
  const reply = await send(`${world.url}/.well-known/jwks.json`);
  return { kids: reply.json.keys.map((key: { kid: string }) => key.kid) as string[], cacheControl: reply.headers.get('cache-control'), body: reply.json };
}

const kidOf = (token: string): string => decodeJwt(token).header.kid;
const states = async (world: World) => Object.fromEntries((await world.store.signingKeys.list()).map((key) => [key.kid, key.state]));
async function isActive(world: World, token: string): Promise<boolean> {
  return (await world.introspect(token)).json.active;
}

test('JWKS-06 a full cycle: next published, promoted, retired, removed; no valid token ever fails', async (t) => {
  const world = await startWorld({ env: SCHEDULE });
  t.teardown(() => world.close());
  const t0 = world.clock.now();

  const initial = await world.store.signingKeys.list();
  const k1 = initial.find((key) => key.state === 'current')!.kid;
  const k2 = initial.find((key) => key.state === 'next')!.kid;
  let published = await jwks(world);
  t.deepEqual(published.kids.sort(), [k1, k2].sort(), 'the next key is published before it signs');
  t.is(published.cacheControl, 'public, max-age=10', 'max-age never exceeds the pre-publication time');

  // A token signed just before the rotation point.
  world.clock.set(t0 + 95);
  await world.keys.maintain();
  const before = (await world.login(alice)).access;
  t.is(kidOf(before), k1);

  world.clock.set(t0 + 100);
  await world.keys.maintain();
  t.like(await states(world), { [k1]: 'retired', [k2]: 'current' });
  const after = (await world.login(alice)).access;
  t.is(kidOf(after), k2, 'the pre-published key signs from the rotation on');
  const k3 = (await world.store.signingKeys.list()).find((key) => key.state === 'next')!.kid;
  published = await jwks(world);
  t.deepEqual(published.kids.sort(), [k1, k2, k3].sort(), 'retired key still published');

  world.clock.set(t0 + 124);
  t.true(await isActive(world, before), 'a token of the retired key is active until its own exp');
  t.true(await isActive(world, after));
  world.clock.set(t0 + 125);
  t.false(await isActive(world, before), 'expiry is exact');

  world.clock.set(t0 + 139);
  await world.keys.maintain();
  t.true((await jwks(world)).kids.includes(k1), 'retired key stays until TTL + leeway + refresh');
  world.clock.set(t0 + 140);
  await world.keys.maintain();
  t.deepEqual((await jwks(world)).kids.sort(), [k2, k3].sort(), 'then it leaves the JWKS');
  const latest = (await world.login(alice)).access;
  t.is(kidOf(latest), k2);
  t.true(await isActive(world, latest), 'tokens of the current key are unaffected');
});

test('keys revoke: the key leaves the JWKS at once, its tokens turn inactive, the next key signs', async (t) => {
  const world = await startWorld({ env: SCHEDULE });
  t.teardown(() => world.close());
  const doomed = (await world.login(alice)).access;
  const kid = kidOf(doomed);
  const next = (await world.store.signingKeys.list()).find((key) => key.state === 'next')!.kid;
  t.true(await isActive(world, doomed));

  t.true(await world.keys.revoke(kid));
  t.false((await jwks(world)).kids.includes(kid));
  t.false(await isActive(world, doomed));
  const fresh = (await world.login(alice)).access;
  t.is(kidOf(fresh), next, 'logins keep working with the next key, without waiting');
  t.true(await isActive(world, fresh));
  const current = (await world.store.signingKeys.list()).filter((key) => key.state === 'current');
  t.is(current.length, 1);
});

test('a restart with the secret list rotated decrypts every key; reencrypt moves them; a wrong secret stops the start', async (t) => {
  const dir = tempDir();
  const oldSecret = 'old-secret-0123456789abcdef0123456789';
  const newSecret = 'new-secret-0123456789abcdef0123456789';
  const database = await freshDatabase(dir);
  t.teardown(() => database.drop());
  const env = (secrets: string) => loadConfig({ DATABASE_URL: database.url, GATEHOUSE_KEYS_DIR: join(dir, 'keys'), GATEHOUSE_KEY_SECRETS: secrets });
  const clock = new ManualClock(1_800_000_000);

  const open = async (secrets: string) => {
    const config = env(secrets);
    const runtime = await openRuntime(config);
    try {
      return await openKeys(config, runtime.store, clock, silentLogger).then(async (keys) => {
        await keys.maintain();
        return { runtime, keys };
      });
    } catch (error) {
      await runtime.close();
      throw error;
    }
  };

  const first = await open(oldSecret);
  const before = await first.runtime.store.signingKeys.list();
  const signingKid = first.keys.signingKey().kid;
  await first.runtime.close();

  await t.throwsAsync(open(newSecret), { instanceOf: KeySecretError, message: /not list/ });
  const untouched = await openRuntime(env(oldSecret));
  t.deepEqual(await untouched.store.signingKeys.list(), before, 'a failed start overwrites nothing');
  await untouched.close();

  const rotated = await open(`${newSecret},${oldSecret}`);
  t.is(rotated.keys.signingKey().kid, signingKid, 'every key still decrypts with the old secret second');
  t.is(await rotated.keys.reencrypt(), before.length);
  const token = rotated.keys.signingKey();
  await rotated.runtime.close();

  const onlyNew = await open(newSecret);
  t.is(onlyNew.keys.signingKey().kid, token.kid, 'after reencrypt the new secret alone opens them');
  const keySet = createLocalJWKSet({ keys: onlyNew.keys.ring.publicJwks() });
  t.truthy(keySet);
  await onlyNew.runtime.close();
});
