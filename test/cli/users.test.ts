/** `gatehouse users …`, spawned for real against a running server (issue 2, CLI contract). */
import test from 'ava';
import { cleanup, client, sandbox, seed } from '../helpers/process.js';

test.after.always(cleanup);

const ONE_LINE = /^[^\n]+\n$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

test('users create with --password and --password-stdin (one trailing newline dropped); a duplicate exits 1', async (t) => {
  const box = await sandbox();
  const { app } = await seed(box);

  const byOption = await box.cli(['users', 'create', '--username', 'alice', '--password', 'correct-horse', '--json']);
  t.is(byOption.code, 0, byOption.stderr);
  const alice = JSON.parse(byOption.stdout);
  t.deepEqual(Object.keys(alice).sort(), ['id', 'username']);
  t.is(alice.username, 'alice');
  t.regex(alice.id, UUID, 'a stable UUID made at creation');

  const byStdin = await box.cli(['users', 'create', '--username', 'bob', '--password-stdin', '--json'], { input: 'battery-staple\n' });
  t.is(byStdin.code, 0, byStdin.stderr);
  t.is(JSON.parse(byStdin.stdout).username, 'bob');
  t.not(JSON.parse(byStdin.stdout).id, alice.id);

  // Only one newline is dropped: carol's password ends with a newline.
  const carol = await box.cli(['users', 'create', '--username', 'carol', '--password-stdin'], { input: 'line-ending-pw\n\n' });
  t.is(carol.code, 0, carol.stderr);

  const duplicate = await box.cli(['users', 'create', '--username', 'alice', '--password', 'another-password', '--json']);
  t.is(duplicate.code, 1);
  t.regex(duplicate.stderr, ONE_LINE);
  t.is(duplicate.stdout, '');

  for (const [args, why] of [
    [['--username', 'dave'], 'no password option'],
    [['--username', 'dave', '--password', 'pw-dave-1234', '--password-stdin'], 'both password options'],
    [['--password', 'pw-dave-1234'], 'no username'],
    [['--username', 'dave', '--password', 'pw-dave-1234', '--admin'], 'unknown option'],
  ] as const) {
    const result = await box.cli(['users', 'create', ...args], { input: 'pw-dave-1234\n' });
    t.is(result.code, 2, `${why}: ${result.stderr}`);
    t.regex(result.stderr, ONE_LINE, why);
  }

  const server = await box.start();
  const http = client(server);
  t.is((await http.login(app, 'alice', 'correct-horse')).status, 200);
  const first = await http.login(app, 'alice', 'another-password');
  t.is(first.json.error, 'invalid_grant', 'the duplicate did not replace alice');
  t.is((await http.login(app, 'bob', 'battery-staple')).status, 200, 'stdin password without its newline');
  t.is((await http.login(app, 'bob', 'battery-staple\n')).json.error, 'invalid_grant');
  t.is((await http.login(app, 'carol', 'line-ending-pw\n')).status, 200, 'only one trailing newline dropped');
  t.is((await http.login(app, 'carol', 'line-ending-pw')).json.error, 'invalid_grant');
  const token = (await http.mustLogin(app, 'alice', 'correct-horse')).access;
  t.is(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sub, alice.id, 'sub is the id the CLI printed');
  t.is((await http.login(app, 'dave', 'pw-dave-1234')).json.error, 'invalid_grant', 'no refused create made a user');
  t.is(await server.stop(), 0);
});

test('users set-password ends the user\'s sessions at once and the new password works; an unknown user exits 1', async (t) => {
  const box = await sandbox();
  const { app, rs } = await seed(box);
  await box.cli(['users', 'create', '--username', 'alice', '--password', 'correct-horse']);
  await box.cli(['users', 'create', '--username', 'bob', '--password', 'battery-staple']);
  const server = await box.start();
  const http = client(server);
  const one = await http.mustLogin(app, 'alice', 'correct-horse');
  const two = await http.mustLogin(app, 'alice', 'correct-horse');
  const bob = await http.mustLogin(app, 'bob', 'battery-staple');
  t.is((await http.introspect(rs, one.access)).json.active, true);

  const changed = await box.cli(['users', 'set-password', 'alice', '--password-stdin', '--json'], { input: 'new-password-1\n' });
  t.is(changed.code, 0, changed.stderr);
  t.is(typeof JSON.parse(changed.stdout), 'object', '--json: one JSON value');

  t.deepEqual((await http.introspect(rs, one.access)).json, { active: false });
  t.deepEqual((await http.introspect(rs, two.access)).json, { active: false });
  const refreshed = await http.refresh(app, one.refresh);
  t.is(refreshed.status, 400);
  t.is(refreshed.json.error, 'invalid_grant');
  t.is((await http.refresh(app, two.refresh)).json.error, 'invalid_grant');
  t.is((await http.introspect(rs, bob.access)).json.active, true, 'other users keep their sessions');

  t.is((await http.login(app, 'alice', 'correct-horse')).json.error, 'invalid_grant', 'the old password is gone');
  t.is((await http.login(app, 'alice', 'new-password-1')).status, 200, 'the new password works (its newline dropped)');

  const byOption = await box.cli(['users', 'set-password', 'alice', '--password', 'newer-password-2']);
  t.is(byOption.code, 0, byOption.stderr);
  t.is((await http.login(app, 'alice', 'newer-password-2')).status, 200);

  const unknown = await box.cli(['users', 'set-password', 'nobody', '--password', 'whatever-123']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, ONE_LINE);
  const noPassword = await box.cli(['users', 'set-password', 'alice']);
  t.is(noPassword.code, 2);
  t.regex(noPassword.stderr, ONE_LINE);
  t.is(await server.stop(), 0);
});

test('users disable ends every session and login fails with invalid_grant; users enable restores login', async (t) => {
  const box = await sandbox();
  const { app, rs } = await seed(box);
  await box.cli(['users', 'create', '--username', 'alice', '--password', 'correct-horse']);
  await box.cli(['users', 'create', '--username', 'bob', '--password', 'battery-staple']);
  const server = await box.start();
  const http = client(server);
  const one = await http.mustLogin(app, 'alice', 'correct-horse');
  const two = await http.mustLogin(app, 'alice', 'correct-horse');
  const bob = await http.mustLogin(app, 'bob', 'battery-staple');

  const disabled = await box.cli(['users', 'disable', 'alice', '--json']);
  t.is(disabled.code, 0, disabled.stderr);
  t.is(typeof JSON.parse(disabled.stdout), 'object', '--json: one JSON value');
  t.deepEqual((await http.introspect(rs, one.access)).json, { active: false });
  t.deepEqual((await http.introspect(rs, two.access)).json, { active: false });
  t.is((await http.refresh(app, one.refresh)).json.error, 'invalid_grant');
  const login = await http.login(app, 'alice', 'correct-horse');
  t.is(login.status, 400);
  t.is(login.json.error, 'invalid_grant');
  t.deepEqual(await box.cliJson(['sessions', 'list', '--user', 'alice']), []);
  t.is((await http.introspect(rs, bob.access)).json.active, true);

  const enabled = await box.cli(['users', 'enable', 'alice', '--json']);
  t.is(enabled.code, 0, enabled.stderr);
  t.is(typeof JSON.parse(enabled.stdout), 'object', '--json: one JSON value');
  const again = await http.mustLogin(app, 'alice', 'correct-horse');
  t.is((await http.introspect(rs, again.access)).json.active, true);
  t.deepEqual((await http.introspect(rs, one.access)).json, { active: false }, 'enabling does not revive ended sessions');
  t.is((await http.refresh(app, two.refresh)).json.error, 'invalid_grant');

  for (const verb of ['disable', 'enable']) {
    const unknown = await box.cli(['users', verb, 'nobody']);
    t.is(unknown.code, 1, `${verb} of an unknown user`);
    t.regex(unknown.stderr, ONE_LINE);
    const usage = await box.cli(['users', verb]);
    t.is(usage.code, 2, `${verb} without a user`);
  }
  t.is(await server.stop(), 0);
});
