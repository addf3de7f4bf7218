/**
 * What the HTTP layer itself enforces: header size, slow clients, and JSON bodies for the errors Node's parser
 * answers before the app sees a request. The timeouts are shortened for the test; the code path is the same.
 */
import anyTest, { type TestFn } from 'ava';
import { startWorld, type World } from '../helpers/fixtures.js';
import { send } from '../helpers/http.js';
import { converse } from '../helpers/socket.js';

const test = anyTest as TestFn<World>;
test.before(async (t) => {
  t.context = await startWorld({ limits: { headersTimeoutMs: 1000, requestTimeoutMs: 2000, timeoutCheckIntervalMs: 200 } });
});
test.after.always((t) => t.context.close());

const jsonError = (body: string) => JSON.parse(body) as { error: string; error_description: string };
test.afterEach(async (t) => {
  t.is((await send(`${t.context.url}/healthz`)).status, 200, 'the server is alive afterwards');
});

test('headers over 8 KiB are 431 with a JSON error', async (t) => {
  const reply = await converse(t.context.url, [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(10_000)}\r\n\r\n`]);
  t.is(reply.status, 431);
  t.is(jsonError(reply.body).error, 'invalid_request');
});

test('a URL over 8 KiB is refused the same way: 431 with a JSON error', async (t) => {
  const reply = await converse(t.context.url, [`GET /token?${'a'.repeat(10_000)} HTTP/1.1\r\nHost: x\r\n\r\n`]);
  t.is(reply.status, 431);
  t.is(jsonError(reply.body).error, 'invalid_request');
});

test('a request that is not HTTP is 400 with a JSON error', async (t) => {
  for (const garbage of ['GARBAGE\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 'GET /\x00 HTTP/1.1\r\n\r\n']) {
    const reply = await converse(t.context.url, [garbage]);
    t.is(reply.status, 400, JSON.stringify(garbage));
    t.is(jsonError(reply.body).error, 'invalid_request');
  }
});

test('a client that sends its headers too slowly is cut off with 408', async (t) => {
  const reply = await converse(t.context.url, ['POST /token HTTP/1.1\r\n', 'Host: x\r\n', 'X-Slow: 1\r\n', 'X-Slow: 2\r\n', 'X-Slow: 3\r\n'], { pauseMs: 600 });
  t.is(reply.status, 408);
  t.is(jsonError(reply.body).error, 'invalid_request');
  t.true(reply.elapsedMs < 4000, `closed after ${reply.elapsedMs} ms`);
});

test('a client that sends its body too slowly is cut off', async (t) => {
  const head = 'POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n';
  const reply = await converse(t.context.url, [head, 'grant_type=', 'client_', 'credentials'], { pauseMs: 900, timeoutMs: 8000 });
  t.true(reply.status === 408 || reply.status === 0, `status ${reply.status}`);
  t.true(reply.elapsedMs < 5000, `closed after ${reply.elapsedMs} ms`);
});
