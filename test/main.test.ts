/**
 * The server as a process (issue 2, set-up contract): first start in a fresh folder, the start line, refused
 * starts on invalid configuration, restart durability, the key secret, and SIGTERM.
 */
import { chmodSync, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { decodeJwt, send } from './helpers/http.js';
import {
  API,
  cleanup,
  client,
  FAST_ARGON2,
  makeTempDir,
  runCli,
  runServerToExit,
  sandbox,
  seed,
  startServerProcess,
} from './helpers/process.js';

test.after.always(cleanup);

const ONE_LINE = /^[^\n]+\n$/;
const mode = (path: string) => statSync(path).mode & 0o777;
const SECRET_A = 'secret-A-0123456789abcdef0123456789abcdef';
const SECRET_B = 'secret-B-0123456789abcdef0123456789abcdef';

/** Splits a shown command line like a shell would for simple quoting: words and "quoted words". */
function shellWords(command: string): string[] {
  return [...command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((match) => match[1] ?? match[2] ?? match[3]!);
}

test('first start in a fresh folder: data folder, 0600 SQLite file, 0600 key secret, first signing key, one issuer line with the real port, and the create-client hint while no client exists', async (t) => {
  const dir = makeTempDir();
  // Exactly what `npm start` in a fresh clone sees: no DATABASE_URL, no GATEHOUSE_KEYS_DIR.
  const server = await startServerProcess({ cwd: dir, env: { PORT: '0', ...FAST_ARGON2 } });

  t.true(statSync(join(dir, 'data')).isDirectory(), 'data/ is created');
  const dbFile = join(dir, 'data', 'gatehouse.sqlite');
  t.true(existsSync(dbFile), 'data/gatehouse.sqlite is created');
  t.is(mode(dbFile), 0o600, 'the database holds password hashes: 0600');
  const secretFile = join(dir, 'keys', 'key-secret');
  t.true(existsSync(secretFile), 'keys/key-secret is generated');
  t.is(mode(secretFile), 0o600);
  t.is(mode(join(dir, 'keys')), 0o700, 'the folder of the key secret is its owner\'s alone');
  t.true(readFileSync(secretFile, 'utf8').trim().length >= 32);

  t.not(server.port, 0);
  t.is(server.host, '127.0.0.1', 'HOST defaults to 127.0.0.1');
  t.is(server.issuer, `http://localhost:${server.port}`, 'the issuer carries the port actually bound');
  t.is(server.logs.filter((line) => line.includes(server.issuer)).length, 1, 'one line with the issuer URL');
  const metadata = await send(`${server.url}/.well-known/oauth-authorization-server`);
  t.is(metadata.status, 200);
  t.is(metadata.json.issuer, server.issuer);

  const hints = server.logs.filter((line) => line.includes('gatehouse clients create'));
  t.is(hints.length, 1, 'while no client exists, a line shows the command that creates one');
  t.false(server.logs.some((line) => /\s{4}at |Error:/.test(line)));

  const keys = await runCli(['keys', 'list', '--json'], { cwd: dir, env: { ...FAST_ARGON2 } });
  t.is(keys.code, 0, keys.stderr);
  t.deepEqual(JSON.parse(keys.stdout).map((key: any) => key.state).sort(), ['current', 'next'], 'the first signing key (and its successor) exist');
  const jwks = await send(`${server.url}/.well-known/jwks.json`);
  t.is(jwks.json.keys.length, 2);

  // The command shown works as printed (npx runs the bin), and once a client exists the hint is gone.
  const hint = (JSON.parse(hints[0]!) as { msg: string }).msg;
  const shown = shellWords(hint.slice(hint.indexOf('gatehouse clients create')));
  t.deepEqual(shown.slice(0, 3), ['gatehouse', 'clients', 'create']);
  const created = await runCli(shown.slice(1), { cwd: dir, env: { ...FAST_ARGON2 } });
  t.is(created.code, 0, created.stderr);
  t.is(await server.stop(), 0);

  // A folder opened up since (a clone gives keys/ 0755) is restricted again at the next start.
  chmodSync(join(dir, 'keys'), 0o755);
  const again = await startServerProcess({ cwd: dir, env: { PORT: '0', ...FAST_ARGON2 } });
  t.is(mode(join(dir, 'keys')), 0o700);
  t.is(again.logs.filter((line) => line.includes(again.issuer)).length, 1);
  t.false(again.logs.some((line) => line.includes('gatehouse clients create')), 'no hint once a client exists');
  t.is(await again.stop(), 0);
});

const INVALID: Array<[variable: string, value: string]> = [
  ['PORT', 'abc'],
  ['PORT', '70000'],
  ['GATEHOUSE_ACCESS_TOKEN_TTL', '-1'],
  ['GATEHOUSE_ACCESS_TOKEN_TTL', '1.5'],
  ['GATEHOUSE_REFRESH_TOKEN_TTL', '14d'],
  ['GATEHOUSE_SESSION_MAX_AGE', 'forever'],
  ['GATEHOUSE_REFRESH_GRACE_SECONDS', '-5'],
  ['GATEHOUSE_ISSUER', 'http://example.com'],
  ['GATEHOUSE_ISSUER', 'https://issuer.example.com/?tenant=1'],
  ['GATEHOUSE_ISSUER', 'https://issuer.example.com#top'],
  ['GATEHOUSE_ISSUER', 'not a url'],
  ['DATABASE_URL', 'mysql://x'],
  ['GATEHOUSE_SIGNING_ALG', 'HS256'],
  ['GATEHOUSE_SIGNING_ALG', 'none'],
  ['GATEHOUSE_KEY_SECRETS', 'short'],
  ['GATEHOUSE_ARGON2_MEMORY_KIB', 'lots'],
  ['GATEHOUSE_ARGON2_ITERATIONS', '0.5'],
];

test('each invalid configuration value stops the start: exit ≠ 0, exactly one stderr line naming the variable, no stack trace', async (t) => {
  t.timeout(180_000);
  const box = await sandbox();
  // Four at a time, each with a generous deadline: seventeen processes started at once on a busy two-core machine
  // can take longer than any fixed bound to even reach the configuration check.
  const results: Array<Awaited<ReturnType<typeof runServerToExit>>> = [];
  for (let start = 0; start < INVALID.length; start += 4) {
    const batch = INVALID.slice(start, start + 4);
    results.push(...(await Promise.all(batch.map(([variable, value]) => runServerToExit({ cwd: box.dir, env: { ...box.env, [variable]: value }, timeoutMs: 30_000 })))));
  }
  INVALID.forEach(([variable, value], index) => {
    const result = results[index]!;
    const what = `${variable}=${value}`;
    t.false(result.timedOut, `${what}: the start stops by itself`);
    t.not(result.code, 0, `${what}: non-zero exit`);
    t.regex(result.stderr, ONE_LINE, `${what}: exactly one line on stderr, got ${JSON.stringify(result.stderr)}`);
    t.true(result.stderr.includes(variable), `${what}: the line names the variable: ${result.stderr}`);
    t.false(result.stderr.includes('    at '), `${what}: no stack trace`);
    t.false(result.stderr.includes('listening'), `${what}: never listened`);
  });
});

// Implementation bug (src/config.ts does not validate HOST; src/main.ts reports the listen failure as
// `ERROR start failed error="Error: getaddrinfo ENOTFOUND not a host"`): the line does not name HOST, and on a
// fresh folder the database and first keys are made (two more log lines) before the start fails.
test('an invalid HOST stops the start with one line naming HOST', async (t) => {
  const box = await sandbox();
  const result = await runServerToExit({ cwd: box.dir, env: { ...box.env, HOST: 'not a host' }, timeoutMs: 30_000 });
  t.false(result.timedOut);
  t.not(result.code, 0);
  t.false(result.stderr.includes('    at '));
  t.regex(result.stderr, ONE_LINE, `one line: ${JSON.stringify(result.stderr)}`);
  t.true(result.stderr.includes('HOST'), result.stderr);
});

test('restart durability: tokens, refresh tokens, sessions and keys survive a SIGTERM stop and a new start on the same folder', async (t) => {
  // A fixed issuer identifier: PORT=0 gives each start another port, and tokens name their issuer.
  const box = await sandbox({ GATEHOUSE_ISSUER: 'http://localhost:4999' });
  const first = await box.start();
  t.is(first.issuer, 'http://localhost:4999');
  // Created through the CLI while the server runs.
  const { app, rs } = await seed(box);
  const alice = await box.cliJson(['users', 'create', '--username', 'alice', '--password', 'correct-horse']);
  let http = client(first);
  const login = await http.mustLogin(app, 'alice', 'correct-horse');
  const sid = decodeJwt(login.access).payload.sid;
  const kid = decodeJwt(login.access).header.kid;
  const keysBefore = await box.cliJson(['keys', 'list']);
  t.is(await first.stop('SIGTERM'), 0, 'SIGTERM exits 0');

  const second = await box.start();
  t.not(second.url, '', 'started again');
  http = client(second);
  const introspected = await http.introspect(rs, login.access);
  t.is(introspected.status, 200);
  t.like(introspected.json, { active: true, sid, sub: alice.id, username: 'alice', client_id: 'app', aud: API, iss: 'http://localhost:4999' });

  const refreshed = await http.refresh(app, login.refresh);
  t.is(refreshed.status, 200, refreshed.text);
  t.truthy(refreshed.json.refresh_token);
  t.not(refreshed.json.refresh_token, login.refresh, 'the refresh token still rotates');
  t.is(decodeJwt(refreshed.json.access_token).payload.sid, sid, 'in the same session');
  t.is(decodeJwt(refreshed.json.access_token).header.kid, kid, 'signed by the same stored key');
  t.is((await http.refresh(app, refreshed.json.refresh_token)).status, 200);

  const sessions = await box.cliJson(['sessions', 'list']);
  t.deepEqual(sessions.map((s: any) => [s.sid, s.username, s.client_id]), [[sid, 'alice', 'app']]);
  t.deepEqual(await box.cliJson(['keys', 'list']), keysBefore, 'no key was made or lost by the restart');
  t.is(await second.stop('SIGTERM'), 0);
});

test('a start with another key secret than the one that sealed the keys fails with one clear line and changes no key', async (t) => {
  const box = await sandbox({ GATEHOUSE_KEY_SECRETS: SECRET_A });
  const server = await box.start();
  t.is(await server.stop(), 0);
  const before = await box.cliJson(['keys', 'list']);
  t.is(before.length, 2);

  const refused = await runServerToExit({ cwd: box.dir, env: { ...box.env, GATEHOUSE_KEY_SECRETS: SECRET_B } });
  t.false(refused.timedOut);
  t.not(refused.code, 0);
  t.regex(refused.stderr, ONE_LINE, `one line: ${JSON.stringify(refused.stderr)}`);
  t.true(refused.stderr.includes('GATEHOUSE_KEY_SECRETS'), refused.stderr);
  t.false(refused.stderr.includes('    at '));
  t.false(refused.stderr.includes(SECRET_A) || refused.stderr.includes(SECRET_B), 'secrets are never printed');
  t.deepEqual(await box.cliJson(['keys', 'list']), before, 'the key rows are unchanged');

  // The right secret still opens them, also second in a comma list.
  const right = await box.start({ env: { GATEHOUSE_KEY_SECRETS: `${SECRET_B},${SECRET_A}` } });
  t.is(await right.stop(), 0);

  // Keys sealed under the generated key-secret file: another secret, or a lost file, is refused the same way.
  const generated = await sandbox();
  const first = await generated.start();
  t.is(await first.stop(), 0);
  const generatedKeys = await generated.cliJson(['keys', 'list']);
  const wrong = await runServerToExit({ cwd: generated.dir, env: { ...generated.env, GATEHOUSE_KEY_SECRETS: SECRET_B } });
  t.not(wrong.code, 0);
  t.false(wrong.timedOut);
  t.regex(wrong.stderr, ONE_LINE);
  t.true(wrong.stderr.includes('GATEHOUSE_KEY_SECRETS'), wrong.stderr);
  rmSync(join(generated.dir, 'keys', 'key-secret'));
  const lost = await runServerToExit({ cwd: generated.dir, env: generated.env });
  t.not(lost.code, 0);
  t.false(lost.timedOut);
  t.regex(lost.stderr, ONE_LINE);
  t.true(lost.stderr.includes('GATEHOUSE_KEY_SECRETS'), lost.stderr);
  t.false(lost.stderr.includes('    at '));
  t.false(existsSync(join(generated.dir, 'keys', 'key-secret')), 'no new secret is made next to existing keys');
  t.deepEqual(await generated.cliJson(['keys', 'list']), generatedKeys);
});

test('SIGTERM exits 0 promptly, with an idle keep-alive connection open', async (t) => {
  const box = await sandbox();
  const server = await box.start();
  const reply = await send(`${server.url}/.well-known/jwks.json`, { headers: { connection: 'keep-alive' } });
  t.is(reply.status, 200);
  const started = Date.now();
  const code = await server.stop('SIGTERM', 8_000);
  const elapsed = Date.now() - started;
  t.is(code, 0);
  // Without closing idle connections the server would wait out the 5 s keep-alive timeout before it exits.
  t.true(elapsed < 4_500, `exited after ${elapsed} ms`);
  const after = await fetch(`${server.url}/.well-known/jwks.json`).then(
    () => 'answered',
    () => 'refused',
  );
  t.is(after, 'refused', 'the port is closed');
});

// Implementation bug (src/main.ts): the start line is logged before `await store.clients.count()`, and the
// SIGTERM/SIGINT handlers are installed only after it, so a supervisor that stops the server as soon as it has
// announced itself kills it by signal (exit code null, signal SIGTERM) instead of the clean exit 0. The window is
// short, so the test tries up to 20 starts and stops at the first unclean exit (usually the first).
test('SIGTERM sent the moment the start line appears still exits 0', async (t) => {
  const box = await sandbox();
  for (let i = 0; i < 20; i++) {
    const server = await startServerProcess({ cwd: box.dir, env: box.env, signalOnStart: 'SIGTERM' });
    await server.stop('SIGTERM', 8_000);
    const { code, signal } = await server.exited;
    if (code !== 0) {
      t.deepEqual({ code, signal }, { code: 0, signal: null }, `start #${i + 1}`);
      return;
    }
  }
  t.pass('20 starts, each stopped cleanly');
});
