/**
 * Timing must not tell a registered username from an unknown one, nor a right password from a wrong one for a
 * blocked account. Compared on medians of many alternating attempts, with generous bounds: this is a leak test,
 * not a speed test.
 */
import test from 'ava';
import { performance } from 'node:perf_hooks';
import { confA, startWorld } from '../helpers/fixtures.js';
import { postForm } from '../helpers/http.js';

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

test('known and unknown usernames, and right and wrong passwords while blocked, take the same time', async (t) => {
  t.timeout(120_000);
  // Argon2 costly enough to dominate a request, so a skipped hash would show.
  const world = await startWorld({
    env: { GATEHOUSE_ARGON2_MEMORY_KIB: '8192', GATEHOUSE_ARGON2_ITERATIONS: '2', GATEHOUSE_TRUST_PROXY: 'true', GATEHOUSE_LOCKOUT_THRESHOLD: '5', GATEHOUSE_LOCKOUT_USER_THRESHOLD: '10000', GATEHOUSE_LOCKOUT_IP_THRESHOLD: '10000' },
  });
  t.teardown(() => world.close());
  await world.createUser('dora', 'dora-password-1');
  const attempt = async (username: string, password: string, ip: string) => {
    const started = performance.now();
    const reply = await postForm(`${world.url}/token`, { grant_type: 'password', username, password }, { auth: [confA.id, confA.secret], headers: { 'x-forwarded-for': ip } });
    return { ms: performance.now() - started, status: reply.status, text: reply.text };
  };

  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 40; i++) {
    const a = await attempt('dora', 'wrong-password', `10.4.${i}.1`);
    const b = await attempt('no-such-user', 'wrong-password', `10.4.${i}.2`);
    t.is(a.text, b.text);
    known.push(a.ms);
    unknown.push(b.ms);
  }
  const ratio = median(unknown) / median(known);
  t.log(`median known ${median(known).toFixed(1)} ms, unknown ${median(unknown).toFixed(1)} ms`);
  t.true(ratio > 0.67 && ratio < 1.5, `unknown/known median ratio ${ratio.toFixed(2)}`);

  // Block dora at one address, then compare right and wrong passwords there.
  for (let i = 0; i < 5; i++) await attempt('dora', 'wrong-password', '10.5.0.1');
  const right: number[] = [];
  const wrong: number[] = [];
  for (let i = 0; i < 40; i++) {
    const a = await attempt('dora', 'dora-password-1', '10.5.0.1');
    const b = await attempt('dora', 'wrong-password', '10.5.0.1');
    t.is(a.status, 429);
    t.is(a.text, b.text);
    right.push(a.ms);
    wrong.push(b.ms);
  }
  t.log(`blocked: median right ${median(right).toFixed(2)} ms, wrong ${median(wrong).toFixed(2)} ms`);
  const difference = Math.abs(median(right) - median(wrong));
  t.true(difference < 3 || (median(right) / median(wrong) > 0.5 && median(right) / median(wrong) < 2), `blocked medians differ by ${difference.toFixed(2)} ms`);
});
