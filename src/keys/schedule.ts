/**
 * The key rotation schedule as a pure function of the stored keys and `now`.
 *
 *   next ──(published ≥ pre-publication, current older than the interval)──▶ current ──(rotation)──▶ retired
 *   retired ──(every token it signed has expired: access TTL + leeway)──▶ removed
 *
 * A key signs only after it has been in the JWKS for the pre-publication time (JWKS max-age + leeway + the
 * key-ring refresh period), so no consumer's cached JWKS can lack it; a retired key stays published until the
 * last token it signed has expired, so no valid token is ever rejected.
 */
import type { SigningAlg } from '../config.js';
import type { KeyState } from '../storage/signing-keys.js';

/** How often every instance re-reads the key table; the schedule adds it to both margins. */
export const KEY_RING_REFRESH_SECONDS = 5;

export interface ScheduleSettings {
  alg: SigningAlg;
  rotationIntervalSeconds: number;
  jwksMaxAgeSeconds: number;
  clockLeewaySeconds: number;
  accessTokenTtlSeconds: number;
}

export interface ScheduledKey {
  kid: string;
  alg: string;
  state: KeyState;
  createdAt: number;
  activatedAt: number | null;
  retiredAt: number | null;
  revokedAt: number | null;
}

export type KeyStep =
  /** Make a key that signs at once: only when there is no key at all (first start) or no current key. */
  | { kind: 'create-current'; retireKid: string | null }
  | { kind: 'create-next' }
  /** The current key (if any) retires and the next key signs. */
  | { kind: 'promote'; nextKid: string; currentKid: string | null }
  /** The next key has the wrong algorithm (GATEHOUSE_SIGNING_ALG changed): it never signed, so drop it. */
  | { kind: 'drop-next'; kid: string }
  | { kind: 'remove'; kid: string; state: 'retired' | 'revoked' };

export function prePublicationSeconds(settings: ScheduleSettings): number {
  return settings.jwksMaxAgeSeconds + settings.clockLeewaySeconds + KEY_RING_REFRESH_SECONDS;
}

export function retirementSeconds(settings: ScheduleSettings): number {
  return settings.accessTokenTtlSeconds + settings.clockLeewaySeconds + KEY_RING_REFRESH_SECONDS;
}

/** When `next` may start signing. */
export function nextKeyEligibleAt(next: ScheduledKey, settings: ScheduleSettings): number {
  return next.createdAt + prePublicationSeconds(settings);
}

/**
 * The steps that bring the stored keys up to date at `now`. `force` promotes the next key without waiting for
 * the rotation interval ('published': only once it is pre-published; 'now': even if it is not).
 */
export function planKeySchedule(
  keys: readonly ScheduledKey[],
  now: number,
  settings: ScheduleSettings,
  force: 'none' | 'published' | 'now' = 'none',
): KeyStep[] {
  const steps: KeyStep[] = [];
  const current = keys.find((key) => key.state === 'current');
  let next = keys.find((key) => key.state === 'next');

  if (next && next.alg !== settings.alg && force === 'none') {
    steps.push({ kind: 'drop-next', kid: next.kid });
    next = undefined;
  }

  let nextConsumed = false;
  if (!current) {
    if (next) {
      steps.push({ kind: 'promote', nextKid: next.kid, currentKid: null });
      nextConsumed = true;
    } else {
      steps.push({ kind: 'create-current', retireKid: null });
    }
  } else if (next) {
    const published = now >= nextKeyEligibleAt(next, settings);
    const due = now >= (current.activatedAt ?? current.createdAt) + settings.rotationIntervalSeconds;
    if (force === 'now' || (published && (due || force === 'published'))) {
      steps.push({ kind: 'promote', nextKid: next.kid, currentKid: current.kid });
      nextConsumed = true;
    }
  } else if (force === 'now') {
    // No next key to promote in an emergency: a fresh key signs at once.
    steps.push({ kind: 'create-current', retireKid: current.kid });
  }
  if (!next || nextConsumed) steps.push({ kind: 'create-next' });

  for (const key of keys) {
    if (key.state === 'retired' && key.retiredAt !== null && now >= key.retiredAt + retirementSeconds(settings)) {
      steps.push({ kind: 'remove', kid: key.kid, state: 'retired' });
    }
    if (key.state === 'revoked' && key.revokedAt !== null && now >= key.revokedAt + retirementSeconds(settings)) {
      steps.push({ kind: 'remove', kid: key.kid, state: 'revoked' });
    }
  }
  return steps;
}
