/**
 * RFC 6749 §4.3, the resource owner password credentials grant: the login of first-party apps. RFC 9700 §2.4
 * deprecates it for third parties; Gatehouse keeps it for clients explicitly granted `password` (see README).
 * Every successful login opens a server-side session.
 */
import type { Deps } from '../deps.js';
import { audit } from '../audit/audit.js';
import { invalidGrant, invalidRequest, passwordChecksBusy, tooManyAttempts } from '../errors.js';
import { uuidv7 } from '../lib/ids.js';
import { noteRequest, type ThrottleDecision } from '../observability/request-scope.js';
import type { LoginAttempt } from '../security/throttle.js';
import { accessTokenExpiry, refreshTokenExpiry } from '../sessions/lifetime.js';
import type { ClientRecord } from '../storage/clients.js';
import type { SessionRecord } from '../storage/sessions.js';
import type { UserRecord } from '../storage/users.js';
import { newRefreshToken } from '../tokens/refresh-token.js';
import { ADMIN_SCOPE, mintAccessToken, resolveAudience, resolveScope, type GrantHandler } from './shared.js';

/** One answer for unknown user, wrong password and disabled user, so none can be told from another. */
const BAD_CREDENTIALS = 'The username or password is incorrect';

interface CheckedLogin {
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
async function checkCredentials(deps: Deps, client: ClientRecord, username: string, password: string, ip: string): Promise<CheckedLogin> {
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
      await audit(deps.store, now, { type: 'login_failed', actor: `ip:${ip}`, subject: user?.username ?? null, clientId: client.id, detail: reason });
      if (attempt.waitAfter > 0) {
        await audit(deps.store, now, { type: 'lockout', actor: `ip:${ip}`, subject: user?.username ?? null, clientId: client.id, detail: `${attempt.waitAfter}s` });
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

export const passwordGrant: GrantHandler = async ({ client, params, deps, ip }) => {
  const username = params.get('username');
  const password = params.get('password');
  if (username === undefined || password === undefined) throw invalidRequest('username and password are required');
  // Validate the whole request before the deliberately slow password check.
  const scope = resolveScope(params, client.scope.filter((token) => token !== ADMIN_SCOPE));
  const aud = resolveAudience(params, client, deps.issuer);
  const { user, rehash, succeeded } = await checkCredentials(deps, client, username, password, ip);

  const now = deps.clock.now();
  const session: SessionRecord = {
    id: uuidv7(),
    userId: user.id,
    clientId: client.id,
    scope,
    audience: aud,
    createdAt: now,
    expiresAt: now + deps.config.sessionMaxAgeSeconds,
    endedAt: null,
    endReason: null,
  };
  const exp = accessTokenExpiry(now, deps.config.accessTokenTtlSeconds, session.expiresAt);
  const { token, expiresIn } = await mintAccessToken(deps, { sub: user.id, clientId: client.id, scope, aud, exp, sid: session.id });
  const refresh = client.grantTypes.includes('refresh_token') ? newRefreshToken() : undefined;
  const opened = await deps.store.transaction(async (tx) => {
    // The password was checked against what was read before the (slow) check. A password change or a disable
    // that committed since must win: the session is opened only if the credentials are still the ones checked.
    const current = await tx.users.lockForLogin(user.id);
    if (!current || current.credentialGeneration !== user.credentialGeneration || current.disabledAt !== null) return false;
    if (rehash) await tx.users.replacePasswordHash(user.id, user.passwordHash, rehash);
    await tx.sessions.insert(session);
    await audit(tx, now, { type: 'login', actor: `ip:${ip}`, subject: user.username, clientId: client.id, detail: `sid ${session.id}` });
    if (refresh) {
      await tx.refreshTokens.insert({
        tokenHash: refresh.hash,
        sessionId: session.id,
        parentHash: null,
        createdAt: now,
        expiresAt: refreshTokenExpiry(now, deps.config.refreshTokenTtlSeconds, session.expiresAt),
        rotatedAt: null,
      });
    }
    return true;
  });
  if (!opened) {
    deps.metrics.login('failed');
    throw invalidGrant(BAD_CREDENTIALS, 'the password was changed or the user disabled during the login');
  }
  await succeeded();
  deps.metrics.login('ok');
  return {
    access_token: token,
    token_type: 'Bearer',
    expires_in: expiresIn,
    scope: scope.join(' '),
    ...(refresh ? { refresh_token: refresh.token } : {}),
  };
};
