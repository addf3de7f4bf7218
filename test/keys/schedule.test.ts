/** The rotation schedule is a pure function of the keys and `now`: every transition, step by step. */
import test from 'ava';
import { planKeySchedule, prePublicationSeconds, retirementSeconds, type ScheduledKey, type ScheduleSettings } from '../../src/keys/schedule.js';

const settings: ScheduleSettings = { alg: 'ES256', rotationIntervalSeconds: 1000, jwksMaxAgeSeconds: 60, clockLeewaySeconds: 30, accessTokenTtlSeconds: 300 };
const key = (kid: string, state: ScheduledKey['state'], createdAt: number, extra: Partial<ScheduledKey> = {}): ScheduledKey => ({
  kid,
  alg: 'ES256',
  state,
  createdAt,
  activatedAt: state === 'current' ? createdAt : null,
  retiredAt: null,
  revokedAt: null,
  ...extra,
});

test('margins: pre-publication = max-age + leeway + ring refresh; retirement = access TTL + leeway + ring refresh', (t) => {
  t.is(prePublicationSeconds(settings), 60 + 30 + 5);
  t.is(retirementSeconds(settings), 300 + 30 + 5);
});

test('first start: a current key at once, and a next key', (t) => {
  t.deepEqual(planKeySchedule([], 0, settings), [{ kind: 'create-current', retireKid: null }, { kind: 'create-next' }]);
});

test('a current key without a next one gets a next key', (t) => {
  t.deepEqual(planKeySchedule([key('a', 'current', 0)], 10, settings), [{ kind: 'create-next' }]);
});

test('nothing happens before the rotation interval', (t) => {
  t.deepEqual(planKeySchedule([key('a', 'current', 0), key('b', 'next', 0)], 999, settings), []);
});

test('at the interval, a pre-published next key is promoted and a new next key made', (t) => {
  t.deepEqual(planKeySchedule([key('a', 'current', 0), key('b', 'next', 0)], 1000, settings), [
    { kind: 'promote', nextKid: 'b', currentKid: 'a' },
    { kind: 'create-next' },
  ]);
});

test('a next key that is due but not yet published long enough waits', (t) => {
  const keys = [key('a', 'current', 0), key('b', 'next', 950)];
  t.deepEqual(planKeySchedule(keys, 1000, settings), []);
  t.deepEqual(planKeySchedule(keys, 950 + 95 - 1, settings), []);
  t.is(planKeySchedule(keys, 950 + 95, settings)[0]?.kind, 'promote');
});

test('a retired key is removed once its last token has expired', (t) => {
  const keys = [key('a', 'retired', 0, { retiredAt: 1000 }), key('b', 'current', 0, { activatedAt: 1000 }), key('c', 'next', 1000)];
  t.deepEqual(planKeySchedule(keys, 1000 + 335 - 1, settings), []);
  t.deepEqual(planKeySchedule(keys, 1000 + 335, settings), [{ kind: 'remove', kid: 'a', state: 'retired' }]);
});

test('forced rotation: "published" skips the interval, not the pre-publication', (t) => {
  const young = [key('a', 'current', 0), key('b', 'next', 100)];
  t.deepEqual(planKeySchedule(young, 150, settings, 'published'), []);
  t.is(planKeySchedule(young, 195, settings, 'published')[0]?.kind, 'promote');
});

test('emergency rotation promotes even a young next key, or makes a key that signs at once', (t) => {
  t.deepEqual(planKeySchedule([key('a', 'current', 0), key('b', 'next', 100)], 101, settings, 'now')[0], { kind: 'promote', nextKid: 'b', currentKid: 'a' });
  t.deepEqual(planKeySchedule([key('a', 'current', 0)], 101, settings, 'now'), [{ kind: 'create-current', retireKid: 'a' }, { kind: 'create-next' }]);
});

test('a missing current key (revoked) is replaced by the next key at once', (t) => {
  const keys = [key('a', 'revoked', 0, { revokedAt: 10 }), key('b', 'next', 5)];
  t.deepEqual(planKeySchedule(keys, 10, settings), [{ kind: 'promote', nextKid: 'b', currentKid: null }, { kind: 'create-next' }]);
});

test('a changed signing algorithm replaces the next key, so the change takes effect at the next rotation', (t) => {
  const steps = planKeySchedule([key('a', 'current', 0), key('b', 'next', 0)], 10, { ...settings, alg: 'EdDSA' });
  t.deepEqual(steps, [{ kind: 'drop-next', kid: 'b' }, { kind: 'create-next' }]);
});
