/**
 * RFC 6749 §4.3, the resource owner password credentials grant: the login of first-party apps. RFC 9700 §2.4
 * deprecates it for third parties; Gatehouse keeps it for clients explicitly granted `password` (see README).
 * Every successful login opens a server-side session.
 */
import type { Deps } from '../deps.js';
import { audit } from '../audit/audit.js';
import { invalidGrant, invalidRequest, tooManyAttempts } from '../errors.js';
import { uuidv7 } from '../lib/ids.js';
import { accessTokenExpiry, refreshTokenExpiry } from '../sessions/lifetime.js';
import type { ClientRecord } from '../storage/clients.js';
import type { UserRecord } from '../storage/users.js';
import { newRefreshToken } from '../tokens/refresh-token.js';
import { ADMIN_SCOPE, mintAccessToken, resolveAudience, resolveScope, type GrantHandler } from './shared.js';

/** One answer for unknown user, wrong password and disabled user, so none can be told from another. */
const BAD_CREDENTIALS = 'The username or password is incorrect';

/**
 * Checks the credentials, throttled: while (username, IP), the IP or the username is blocked by earlier
 * failures the answer is 429 without looking at the password, the same for a right and a wrong one.
 */
async function checkCredentials(deps: Deps, client: ClientRecord, username: string, password: string, ip: string): Promise<UserRecord> {
  const wait = await deps.throttle.loginWait(username, ip);
  if (wait > 0) throw tooManyAttempts(wait);
  const user = await deps.store.users.findByUsername(username);
  let check = { ok: false, needsRehash: false };
  if (user) check = await deps.passwords.check(user.passwordHash, password);
  else await deps.passwords.checkNobody(password); // the same time spent, known user or not
  if (!user || !check.ok || user.disabledAt !== null) {
    const reason = !user ? 'unknown user' : !check.ok ? 'wrong password' : 'user disabled';
    const nextWait = await deps.throttle.loginFailed(username, ip);
    const now = deps.clock.now();
    // An unknown username is not recorded: people type passwords into username fields.
    await audit(deps.store, now, { type: 'login_failed', actor: `ip:${ip}`, subject: user?.username ?? null, clientId: client.id, detail: reason });
    if (nextWait > 0) await audit(deps.store, now, { type: 'lockout', actor: `ip:${ip}`, subject: user?.username ?? null, clientId: client.id, detail: `${nextWait}s` });
    throw invalidGrant(BAD_CREDENTIALS, reason);
  }
  await deps.throttle.loginSucceeded(username, ip);
  if (check.needsRehash) {
    await deps.store.users.replacePasswordHash(user.id, user.passwordHash, await deps.passwords.hash(password));
  }
  return user;
}

export const passwordGrant: GrantHandler = async ({ client, params, deps, ip }) => {
  const username = params.get('username');
  const password = params.get('password');
  if (username === undefined || password === undefined) throw invalidRequest('username and password are required');
  // Validate the whole request before the deliberately slow password check.
  const scope = resolveScope(params, client.scope.filter((token) => token !== ADMIN_SCOPE));
  const aud = resolveAudience(params, client, deps.issuer);
  const user = await checkCredentials(deps, client, username, password, ip);

  const now = deps.clock.now();
  const session = {
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
  await deps.store.transaction(async (tx) => {
    await tx.sessions.insert(session);
    await audit(tx, now, { type: 'login', actor: `ip:${ip}`, subject: user.username, clientId: client.id, detail: `sid ${session.id}` });
    if (refresh) {
      await tx.refreshTokens.insert({
        tokenHash: refresh.hash,
        sessionId: session.id,
        createdAt: now,
        expiresAt: refreshTokenExpiry(now, deps.config.refreshTokenTtlSeconds, session.expiresAt),
        rotatedAt: null,
      });
    }
  });
  return {
    access_token: token,
    token_type: 'Bearer',
    expires_in: expiresIn,
    scope: scope.join(' '),
    ...(refresh ? { refresh_token: refresh.token } : {}),
  };
};
