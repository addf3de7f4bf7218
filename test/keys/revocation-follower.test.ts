/**
 * A key revoked by another instance is refused here as soon as its key-revoked event commits (keys/
 * revocation-follower.ts), not at this instance's next key-ring refresh. The instances here run no refresh timer
 * at all, so an instance that does not follow the events never learns of the revocation: the control.
 */
import test from 'ava';
import { freshDatabase } from '../helpers/database.js';
import { rs1, startWorld } from '../helpers/fixtures.js';
import { decodeJwt, postForm } from '../helpers/http.js';
import { startIssuer, tempDir, type Issuer } from '../helpers/issuer.js';

const active = async (issuer: Issuer, token: string): Promise<boolean> =>
  (await postForm(`${issuer.api}/introspect`, { token }, { auth: [rs1.id, rs1.secret] })).json.active === true;

test('a key revoked at one instance is inactive at another within the event delivery; one that does not follow events still says active', async (t) => {
  const dir = tempDir();
  const database = await freshDatabase(dir);
  // One issuer identifier for all, as behind a load balancer: a token of one is good at the others.
  const env = { GATEHOUSE_ISSUER: 'http://localhost:8998' };
  const revoking = await startWorld({ env, database, dir });
  t.teardown(async () => {
    await revoking.close();
    await database.drop();
  });
  const following = await startIssuer({ env, database, dir, followRevocations: true });
  t.teardown(() => following.close());
  const control = await startIssuer({ env, database, dir });
  t.teardown(() => control.close());

  const { access } = await revoking.login();
  const kid = decodeJwt(access).header.kid as string;
  t.true(await active(following, access));
  t.true(await active(control, access));

  const started = Date.now();
  t.true(await revoking.keys.revoke(kid));
  while (await active(following, access)) {
    if (Date.now() - started > 30_000) throw new Error('the following instance never refused the revoked key');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const elapsed = Date.now() - started;
  // PostgreSQL: NOTIFY at the commit; SQLite: the signal's table look every second. Either way well before a
  // key-ring refresh (KEY_RING_REFRESH_SECONDS, 5 s), which these instances do not even run.
  t.true(elapsed < 4000, `refused ${elapsed} ms after the revocation`);
  t.true(await active(control, access), 'without following the events, an instance learns only at its next refresh');
});
