/**
 * How failed attempts turn into waiting, as pure functions (OWASP Authentication Cheat Sheet: throttle rather
 * than lock, and never lock for good). Each counter has a threshold, a backoff that doubles past it up to a cap,
 * and a decay: a counter whose last failure is older than the decay starts again from zero.
 */

export interface ThrottleRule {
  /** Failures before any waiting. */
  threshold: number;
  /** The first wait, doubled at every further failure. */
  baseDelaySeconds: number;
  maxDelaySeconds: number;
  /** A counter idle this long is forgotten. */
  decaySeconds: number;
}

/** How long the key is blocked after its `failures`-th failure (0 = not blocked). */
export function blockSeconds(rule: ThrottleRule, failures: number): number {
  if (failures < rule.threshold) return 0;
  const doublings = Math.min(failures - rule.threshold, 30);
  return Math.min(rule.baseDelaySeconds * 2 ** doublings, rule.maxDelaySeconds);
}

/** The failure count after one more failure at `now`. */
export function nextFailureCount(rule: ThrottleRule, previous: { failures: number; lastFailureAt: number } | undefined, now: number): number {
  if (!previous || now - previous.lastFailureAt >= rule.decaySeconds) return 1;
  return previous.failures + 1;
}

export interface ThrottleSettings {
  /** Password failures per (username, client IP). */
  userAtAddress: ThrottleRule;
  /** Password failures per client IP, across usernames (password spraying). */
  address: ThrottleRule;
  /** Password failures per username across all IPs: a higher cap and a short wait, so nobody can lock a user out. */
  user: ThrottleRule;
  /** Client authentication failures per client_id. */
  client: ThrottleRule;
  /** Client authentication failures per client IP. */
  clientAddress: ThrottleRule;
}

export function throttleSettings(thresholds: { perUserAndAddress: number; perAddress: number; perUser: number; maxDelaySeconds: number }): ThrottleSettings {
  const max = thresholds.maxDelaySeconds;
  return {
    userAtAddress: { threshold: thresholds.perUserAndAddress, baseDelaySeconds: 1, maxDelaySeconds: max, decaySeconds: 900 },
    address: { threshold: thresholds.perAddress, baseDelaySeconds: 1, maxDelaySeconds: max, decaySeconds: 900 },
    user: { threshold: thresholds.perUser, baseDelaySeconds: 1, maxDelaySeconds: Math.min(60, max), decaySeconds: 300 },
    client: { threshold: thresholds.perUser, baseDelaySeconds: 1, maxDelaySeconds: max, decaySeconds: 900 },
    clientAddress: { threshold: thresholds.perAddress, baseDelaySeconds: 1, maxDelaySeconds: max, decaySeconds: 900 },
  };
}
