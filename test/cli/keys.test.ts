/** `gatehouse keys …`, spawned for real against a running server (issue 2, CLI contract). */
import test from 'ava';
import { decodeJwt, send } from '../helpers/http.js';
import { cleanup, client, eventually, nowSeconds, sandbox, seed, type Credentials, type ServerProcess } from '../helpers/process.js';

test.after.always(cleanup);

const ONE_LINE = /^[^\n]+\n$/;
const KEY_FIELDS = ['activated_at', 'alg', 'created_at', 'kid', 'retired_at', 'state'];

/** The kid that signs a fresh client_credentials token. */
async function signingKid(server: ServerProcess, app: Credentials): Promise<string> {
  const reply = await client(server).token({ grant_type: 'client_credentials' }, app);
  if (reply.status !== 200) throw new Error(`token: ${reply.status} ${reply.text}`);
  return decodeJwt(reply.json.access_token).header.kid;
}

test('keys list --json after the first start: one current and one next key, with exactly the contract fields', async (t) => {
  const box = await sandbox();
  const { app } = await seed(box);
  const before = nowSeconds();
  const server = await box.start();
  const after = nowSeconds();

  const listed = await box.cli(['keys', 'list', '--json']);
  t.is(listed.code, 0, listed.stderr);
  const keys = JSON.parse(listed.stdout);
  t.is(keys.length, 2);
  for (const key of keys) {
    t.deepEqual(Object.keys(key).sort(), KEY_FIELDS);
    t.is(key.alg, 'ES256');
    t.true(Number.isInteger(key.created_at) && key.created_at >= before && key.created_at <= after, `created_at ${key.created_at} is epoch seconds`);
    t.is(key.retired_at, null);
  }
  const current = keys.find((key: any) => key.state === 'current');
  const next = keys.find((key: any) => key.state === 'next');
  t.truthy(current);
  t.truthy(next);
  t.true(Number.isInteger(current.activated_at) && current.activated_at >= before && current.activated_at <= after);
  t.is(next.activated_at, null);
  t.not(current.kid, next.kid);

  t.is(await signingKid(server, app), current.kid, 'the current key signs');
  const jwks = await send(`${server.url}/.well-known/jwks.json`);
  t.deepEqual(jwks.json.keys.map((key: any) => key.kid).sort(), [current.kid, next.kid].sort(), 'both are published');

  const human = await box.cli(['keys', 'list']);
  t.is(human.code, 0);
  t.true(human.stdout.includes(current.kid) && human.stdout.includes(next.kid));
  t.is(await server.stop(), 0);
});

test('keys rotate refuses (exit 1) until the next key has been published for max-age + leeway + 5 s, then promotes it', async (t) => {
  t.timeout(180_000);
  // Default JWKS max-age (600 s) and leeway (30 s): the next key made at start cannot sign yet.
  const box = await sandbox();
  await seed(box);
  const server = await box.start();
  const keysBefore = await box.cliJson(['keys', 'list']);
  const refused = await box.cli(['keys', 'rotate']);
  t.is(refused.code, 1, 'a rotation before pre-publication is refused');
  t.regex(refused.stderr, ONE_LINE);
  t.is(refused.stdout, '');
  t.deepEqual(await box.cliJson(['keys', 'list']), keysBefore, 'a refused rotation changes nothing');
  t.is(await server.stop(), 0);

  // With max-age 14 and leeway 1 the pre-publication time is 14 + 1 + 5 = 20 s: refused before, accepted after.
  // (Long enough that a busy machine still gets an attempt in before it ends.)
  const fast = { GATEHOUSE_JWKS_MAX_AGE: '14', GATEHOUSE_CLOCK_LEEWAY: '1' };
  const quick = await sandbox(fast);
  const q = await seed(quick);
  await quick.cli(['users', 'create', '--username', 'alice', '--password', 'correct-horse']);
  const running = await quick.start();
  const http = client(running);
  const oldToken = (await http.mustLogin(q.app, 'alice', 'correct-horse')).access;
  const [first, second] = await quick.cliJson(['keys', 'list']);
  const oldCurrent = [first, second].find((key: any) => key.state === 'current');
  const oldNext = [first, second].find((key: any) => key.state === 'next');
  const eligibleAt = oldNext.created_at + 20;

  // The CLI decides at some moment between `at` (before it was spawned) and `end` (after it exited), which on a busy
  // machine can be seconds apart: a refusal proves `at` was before eligibility, an acceptance that `end` was after.
  const attempts: Array<{ at: number; end: number; code: number | null; stderr: string }> = [];
  const rotated = await eventually(
    async () => {
      const at = nowSeconds();
      const result = await quick.cli(['keys', 'rotate', '--json']);
      const end = nowSeconds();
      attempts.push({ at, end, code: result.code, stderr: result.stderr });
      return result.code === 0 ? { at, end, result } : undefined;
    },
    60_000,
    'keys rotate to be accepted',
    500,
  );
  for (const attempt of attempts.slice(0, -1)) {
    t.is(attempt.code, 1, `refused attempt at ${attempt.at}: ${attempt.stderr}`);
    t.regex(attempt.stderr, ONE_LINE);
    t.true(attempt.at < eligibleAt, `refused at ${attempt.at}, after it became eligible at ${eligibleAt}`);
  }
  t.true(attempts.some((attempt) => attempt.code === 1 && attempt.at < eligibleAt), 'at least one attempt before eligibility was refused');
  t.true(rotated.end >= eligibleAt, `accepted between ${rotated.at} and ${rotated.end}, eligible at ${eligibleAt}`);
  const out = JSON.parse(rotated.result.stdout);
  t.is(out.current, oldNext.kid);

  const after = await quick.cliJson(['keys', 'list']);
  const byKid = new Map(after.map((key: any) => [key.kid, key]));
  t.like(byKid.get(oldCurrent.kid), { state: 'retired' });
  t.true(Number.isInteger((byKid.get(oldCurrent.kid) as any).retired_at));
  t.like(byKid.get(oldNext.kid), { state: 'current' });
  t.true((byKid.get(oldNext.kid) as any).activated_at >= eligibleAt);
  t.is(after.filter((key: any) => key.state === 'next').length, 1, 'a new next key is made');
  t.is(after.filter((key: any) => key.state === 'current').length, 1);

  const newKid = await eventually(async () => ((await signingKid(running, q.app)) === oldNext.kid ? oldNext.kid : undefined), 10_000, 'the server to sign with the promoted key');
  t.is(newKid, oldNext.kid);
  t.is((await http.introspect(q.rs, oldToken)).json.active, true, 'tokens of the retired key stay valid');
  t.is(await running.stop(), 0);
});

test('keys rotate --now promotes at once, and a running server signs with the new key within seconds', async (t) => {
  const box = await sandbox();
  const { app, rs } = await seed(box);
  const server = await box.start();
  const http = client(server);
  const keys = await box.cliJson(['keys', 'list']);
  const oldCurrent = keys.find((key: any) => key.state === 'current');
  const oldNext = keys.find((key: any) => key.state === 'next');
  const oldToken = (await http.token({ grant_type: 'client_credentials' }, app)).json.access_token;
  t.is(decodeJwt(oldToken).header.kid, oldCurrent.kid);

  const rotated = await box.cli(['keys', 'rotate', '--now', '--json']);
  t.is(rotated.code, 0, rotated.stderr);
  t.is(JSON.parse(rotated.stdout).current, oldNext.kid, 'one JSON value naming the new current key');
  const after = await box.cliJson(['keys', 'list']);
  t.is(after.find((key: any) => key.state === 'current').kid, oldNext.kid);
  t.is(after.find((key: any) => key.kid === oldCurrent.kid).state, 'retired');

  const started = Date.now();
  await eventually(async () => ((await signingKid(server, app)) === oldNext.kid ? true : undefined), 8_000, 'the server to sign with the new current key');
  t.true(Date.now() - started < 8_000);
  const fresh = (await http.token({ grant_type: 'client_credentials' }, app)).json.access_token;
  t.is(decodeJwt(fresh).header.kid, oldNext.kid);
  t.is((await http.introspect(rs, fresh)).json.active, true);
  t.is((await http.introspect(rs, oldToken)).json.active, true, 'the retired key still verifies its tokens');

  const unknown = await box.cli(['keys', 'rotate', '--later']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, ONE_LINE);
  t.is(await server.stop(), 0);
});
