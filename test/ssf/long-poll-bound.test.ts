/**
 * RFC 8936 long polling is bounded: with nothing to deliver, a poll answers with no SETs once
 * GATEHOUSE_SSF_POLL_WAIT_SECONDS have passed, and an ack-only poll (maxEvents 0) never waits.
 */
import test from 'ava';
import { startWorld } from '../helpers/fixtures.js';
import { postForm, send } from '../helpers/http.js';

const receiver = { id: 'rcv-bound', secret: 'rcv-bound-0123456789abcdef0123456789ab' } as const;

test('a long poll with nothing to deliver answers {"sets":{}} after the configured wait; maxEvents 0 answers at once', async (t) => {
  const waitSeconds = 1; // 35 was also tried once by hand: a poll outlives the server's 30 s request timeout
  const w = await startWorld({ env: { GATEHOUSE_SSF_POLL_WAIT_SECONDS: String(waitSeconds) } });
  t.teardown(() => w.close());
  await w.createClient({ ...receiver, receiver: true });
  const token = (await postForm(`${w.api}/token`, { grant_type: 'client_credentials' }, { auth: [receiver.id, receiver.secret] })).json.access_token;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const stream = (await send(`${w.api}/ssf/streams`, { method: 'POST', headers, body: '{}' })).json;
  const poll = (body: unknown) => send(`${w.api}/ssf/poll/${stream.stream_id}`, { method: 'POST', headers, body: JSON.stringify(body) });

  const started = Date.now();
  const reply = await poll({ returnImmediately: false });
  const waitedMs = Date.now() - started;
  t.is(reply.status, 200);
  t.deepEqual(reply.json, { sets: {}, moreAvailable: false });
  t.true(waitedMs >= waitSeconds * 1000 - 50, `waited ${waitedMs} ms`);

  const ackOnly = Date.now();
  t.deepEqual((await poll({ maxEvents: 0, ack: [] })).json, { sets: {}, moreAvailable: false });
  t.true(Date.now() - ackOnly < waitSeconds * 1000, 'an ack-only poll does not wait');
});
