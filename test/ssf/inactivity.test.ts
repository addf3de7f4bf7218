/**
 * SSF 1.0 §8.1.1 inactivity_timeout (issue #12): a stream nobody polls is disabled by the janitor, and deleted
 * after another timeout, so API instances that went away leave nothing behind; a polled stream, or one its
 * receiver disabled itself, stays.
 */
import test from 'ava';
import { runJanitor } from '../../src/maintenance/janitor.js';
import { startWorld } from '../helpers/fixtures.js';
import { postForm, send } from '../helpers/http.js';

const receiver = { id: 'rcv-idle', secret: 'rcv-idle-0123456789abcdef0123456789abc' } as const;
const TIMEOUT = 3600;

test('streams not polled for inactivity_timeout are disabled (reason inactive), then deleted; polled or receiver-disabled ones stay', async (t) => {
  const w = await startWorld({ env: { GATEHOUSE_SSF_INACTIVITY_TIMEOUT_SECONDS: String(TIMEOUT), GATEHOUSE_ACCESS_TOKEN_TTL: '3600' } });
  t.teardown(() => w.close());
  await w.createClient({ ...receiver, receiver: true });
  const token = async () => (await postForm(`${w.api}/token`, { grant_type: 'client_credentials' }, { auth: [receiver.id, receiver.secret] })).json.access_token as string;
  const call = async (path: string, method: string, body?: unknown) =>
    send(`${w.api}${path}`, {
      method,
      headers: { authorization: `Bearer ${await token()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const create = async () => {
    const reply = await call('/ssf/streams', 'POST', {});
    t.is(reply.json.inactivity_timeout, TIMEOUT);
    return reply.json.stream_id as string;
  };
  const polled = await create();
  const idle = await create();
  const parked = await create();
  t.is((await call('/ssf/status', 'POST', { stream_id: parked, status: 'disabled', reason: 'parked by its receiver' })).status, 200);
  const janitor = () => runJanitor(w.store, w.clock, { ssfInactivityTimeoutSeconds: TIMEOUT });
  const status = async (id: string) => (await call(`/ssf/status?stream_id=${id}`, 'GET')).json;

  w.clock.advance(TIMEOUT / 2);
  t.is((await call(`/ssf/poll/${polled}`, 'POST', { returnImmediately: true })).status, 200);
  w.clock.advance(TIMEOUT / 2 + 1);
  t.like(await janitor(), { streamsDisabled: 1, streamsDeleted: 0 });
  t.deepEqual(await status(idle), { stream_id: idle, status: 'disabled', reason: 'inactive' });
  t.is((await status(polled)).status, 'enabled');

  w.clock.advance(TIMEOUT / 2);
  t.is((await call(`/ssf/poll/${polled}`, 'POST', { returnImmediately: true })).status, 200);
  w.clock.advance(TIMEOUT / 2 + 1);
  t.like(await janitor(), { streamsDisabled: 0, streamsDeleted: 1 });
  t.is((await call(`/ssf/status?stream_id=${idle}`, 'GET')).status, 404, 'the idle stream is gone');
  t.is((await status(polled)).status, 'enabled');
  t.deepEqual(await status(parked), { stream_id: parked, status: 'disabled', reason: 'parked by its receiver' });
});
