/**
 * The one place that decides whether a session is alive, and how long what it issues may live. Pure functions
 * of their inputs and `now`.
 */

export interface SessionTimes {
  endedAt: number | null;
  /** The absolute end: created_at + GATEHOUSE_SESSION_MAX_AGE. */
  expiresAt: number;
}

/** Alive = not ended by anyone and not past its absolute end, for a user who is not disabled. */
export function isSessionAlive(session: SessionTimes, userDisabled: boolean, now: number): boolean {
  return session.endedAt === null && now < session.expiresAt && !userDisabled;
}

/** An access token lives its TTL, but never past the end of its session. */
export function accessTokenExpiry(now: number, ttlSeconds: number, sessionExpiresAt?: number): number {
  return Math.min(now + ttlSeconds, sessionExpiresAt ?? Number.MAX_SAFE_INTEGER);
}

/** Each rotation renews the refresh token's TTL (an idle limit), never past the session's absolute end. */
export function refreshTokenExpiry(now: number, ttlSeconds: number, sessionExpiresAt: number): number {
  return Math.min(now + ttlSeconds, sessionExpiresAt);
}

/**
 * A refresh token already rotated may be presented again within the grace period after its rotation (the
 * client lost the response); after that, its return means a copy is in other hands (RFC 9700 §4.14.2).
 */
export function isWithinRefreshGrace(rotatedAt: number, graceSeconds: number, now: number): boolean {
  return graceSeconds > 0 && now < rotatedAt + graceSeconds;
}
