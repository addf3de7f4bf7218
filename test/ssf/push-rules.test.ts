/**
 * The pure rules of push delivery: which addresses the issuer may push to (ssf/push-url.ts), the backoff schedule
 * (ssf/push-worker.ts), and the configuration variables that set them.
 */
import test from 'ava';
import { ConfigError, loadConfig } from '../../src/config.js';
import { backoffDelayMs } from '../../src/ssf/push-worker.js';
import { checkPushUrlSyntax, isPublicAddress, PushUrlRefused } from '../../src/ssf/push-url.js';

test('isPublicAddress: private, loopback, link-local, CGNAT, documentation, multicast and IPv6 equivalents are not public', (t) => {
  for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.0.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '192.0.2.1', '::1', '::', 'fd00::1', 'fe80::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '2001:db8::1', '64:ff9b::a00:1', 'not-an-ip']) {
    t.false(isPublicAddress(address), address);
  }
  for (const address of ['93.184.215.14', '8.8.8.8', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) t.true(isPublicAddress(address), address);
});

test('checkPushUrlSyntax: https only off loopback; http to loopback only from a loopback issuer; no userinfo', (t) => {
  const deployed = { issuerOnLoopback: false };
  const dev = { issuerOnLoopback: true };
  t.is(checkPushUrlSyntax('https://rs.example.com/events', deployed).hostname, 'rs.example.com');
  t.is(checkPushUrlSyntax('http://127.0.0.1:8080/events', dev).port, '8080');
  for (const url of ['http://rs.example.com/', 'https://127.0.0.1/', 'https://[::1]/', 'https://localhost/', 'https://a:b@rs.example.com/', 'https://2130706433/']) {
    t.throws(() => checkPushUrlSyntax(url, deployed), { instanceOf: PushUrlRefused }, url);
  }
  for (const url of ['http://10.0.0.1/', 'http://example.com/', 'http://u@127.0.0.1/', 'javascript:alert(1)', 'file:///etc/passwd']) {
    t.throws(() => checkPushUrlSyntax(url, dev), { instanceOf: PushUrlRefused }, url);
  }
});

test('backoffDelayMs: doubles from the base, capped, with up to half taken off at random', (t) => {
  t.is(backoffDelayMs(1, 1000, 300_000, 1), 1000);
  t.is(backoffDelayMs(1, 1000, 300_000, 0), 500);
  t.is(backoffDelayMs(4, 1000, 300_000, 1), 8000);
  t.is(backoffDelayMs(20, 1000, 300_000, 1), 300_000);
  t.is(backoffDelayMs(20, 1000, 300_000, 0), 150_000);
  t.is(backoffDelayMs(1000, 1000, 300_000, 0.5), 225_000);
});

test('GATEHOUSE_SSF_PUSH_*: defaults, values, and refusals naming the variable', (t) => {
  t.deepEqual(loadConfig({}).ssfPush, { maxAttempts: 10, backoffBaseMs: 1000, backoffMaxMs: 300_000, timeoutMs: 10_000 });
  t.deepEqual(
    loadConfig({ GATEHOUSE_SSF_PUSH_MAX_ATTEMPTS: '3', GATEHOUSE_SSF_PUSH_BACKOFF_MS: '20', GATEHOUSE_SSF_PUSH_BACKOFF_MAX_SECONDS: '1', GATEHOUSE_SSF_PUSH_TIMEOUT_MS: '500' }).ssfPush,
    { maxAttempts: 3, backoffBaseMs: 20, backoffMaxMs: 1000, timeoutMs: 500 },
  );
  for (const [name, value] of [
    ['GATEHOUSE_SSF_PUSH_MAX_ATTEMPTS', '0'],
    ['GATEHOUSE_SSF_PUSH_BACKOFF_MS', '1.5'],
    ['GATEHOUSE_SSF_PUSH_TIMEOUT_MS', '99'],
    ['GATEHOUSE_SSF_PUSH_BACKOFF_MAX_SECONDS', '0'],
  ] as const) {
    const error = t.throws(() => loadConfig({ [name]: value }), { instanceOf: ConfigError });
    t.is(error?.variable, name);
  }
  const error = t.throws(() => loadConfig({ GATEHOUSE_SSF_PUSH_BACKOFF_MS: '5000', GATEHOUSE_SSF_PUSH_BACKOFF_MAX_SECONDS: '1' }), { instanceOf: ConfigError });
  t.is(error?.variable, 'GATEHOUSE_SSF_PUSH_BACKOFF_MAX_SECONDS');
});
