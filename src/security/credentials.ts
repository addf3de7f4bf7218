/**
 * The one password check, for the password grant and the login page alike: the same Argon2id check, the same
 * brute-force counters and the same load limits, so that neither door is easier to guess through than the other.
 */
import { audit } from '../audit/audit.js';
import type { Deps } from '../deps.js';
import { invalidGrant, passwordChecksBusy, tooManyAttempts } from '../errors.js';
import { noteRequest, type ThrottleDecision } from '../observability/request-scope.js';
import type { UserRecord } from '../storage/users.js';
import type { LoginAttempt } from './throttle.js';

/** One answer for unknown user, wrong password and disabled user, so none can be told from another. */
export const BAD_CREDENTIALS = 'The username or password is incorrect';

export interface CheckedLogin {
  user: UserRecord;
  /** A hash with the configured parameters, when the stored one has others. */
  rehash: string | undefined;
  /** Gives the throttle reservation back; called once the session is open. */
  succeeded(): Promise<void>;
}

/**
 * Checks the credentials, throttled. First the load limits, in memory: a slot among the checks of this user and
 * of this address, and a place in the Argon2 line; a burst beyond them is refused at once (429 or 503) and not
 * counted, and no more than a few transactions per user or address ever wait on the counters' row locks. Then
 * the attempt is counted before the password is looked at (a reservation, security/throttle.ts), so guesses
 * sent at once cannot outrun the counters; while (username, IP), the IP or the username is blocked the answer is
 * 429, the same for a right and a wrong password.
 */
export async function checkCredentials(deps: Deps, clientId: string, username: string, password: string, ip: string): Promise<CheckedLogin> {
  const refuse = (decision: Exclude<ThrottleDecision, 'counted' | 'address-blocked'>) => {
    noteRequest({ throttle: decision });
    deps.metrics.throttled(decision);
    deps.metrics.login(decision === 'busy-argon2' ? 'busy' : 'throttled');
  };
  const slot = deps.throttle.enterPasswordCheck(username, ip);
  if ('refused' in slot) {
    refuse(slot.refused);
    throw tooManyAttempts(1);
  }
  try {
    const ticket = deps.passwords.admit();
    if (!ticket) {
      refuse('busy-argon2');
      throw passwordChecksBusy();
    }
    let attempt: LoginAttempt;
    try {
      const reservation = await deps.throttle.reserveLogin(username, ip);
      if (!reservation.ok) {
        refuse('blocked');
        throw tooManyAttempts(reservation.waitSeconds);
      }
      attempt = reservation.attempt;
    } catch (error) {
      ticket.done();
      throw error;
    }
    noteRequest({ throttle: 'counted' });
    let user: UserRecord | undefined;
    let check = { ok: false, needsRehash: false };
    try {
      user = await deps.store.users.findByUsername(username);
      if (user) check = await ticket.check(user.passwordHash, password);
      else await ticket.checkNobody(password); // the same time spent, known user or not
    } finally {
      ticket.done();
    }
    if (!user || !check.ok || user.disabledAt !== null) {
      const reason = !user ? 'unknown user' : !check.ok ? 'wrong password' : 'user disabled';
      const now = deps.clock.now();
      // An unknown username is not recorded: people type passwords into username fields.
      await audit(deps.store, now, { type: 'login_failed', actor: `ip:${ip}`, subject: user?.username ?? null, clientId, detail: reason });
      if (attempt.waitAfter > 0) {
        await audit(deps.store, now, { type: 'lockout', actor: `ip:${ip}`, subject: user?.username ?? null, clientId, detail: `${attempt.waitAfter}s` });
      }
      deps.metrics.login('failed');
      throw invalidGrant(BAD_CREDENTIALS, reason);
    }
    const rehash = check.needsRehash ? await deps.passwords.hash(password) : undefined;
    return { user, rehash, succeeded: () => deps.throttle.loginSucceeded(attempt) };
  } finally {
    slot.leave();
  }
}
