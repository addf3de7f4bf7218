/**
 * RFC 6749 §4.3, the resource owner password credentials grant: the login of first-party apps. RFC 9700 §2.4
 * deprecates it for third parties; Gatehouse keeps it for clients explicitly granted `password` (see README).
 * Every successful login opens a server-side session.
 */
import type { Deps } from '../deps.js';
import { invalidGrant, invalidRequest } from '../errors.js';
import { uuidv7 } from '../lib/ids.js';
import { accessTokenExpiry, refreshTokenExpiry } from '../sessions/lifetime.js';
import type { UserRecord } from '../storage/users.js';
import { newRefreshToken } from '../tokens/refresh-token.js';
import { ADMIN_SCOPE, mintAccessToken, resolveAudience, resolveScope, type GrantHandler } from './shared.js';

/** One answer for unknown user, wrong password and disabled user, so none can be told from another. */
const BAD_CREDENTIALS = 'The username or password is incorrect';

async function checkCredentials(deps: Deps, username: string, password: string): Promise<UserRecord> {
  const user = await deps.store.users.findByUsername(username);
  if (!user) {
    await deps.passwords.checkNobody(password);
    throw invalidGrant(BAD_CREDENTIALS, 'unknown user');
  }
  const check = await deps.passwords.check(user.passwordHash, password);
  if (!check.ok) throw invalidGrant(BAD_CREDENTIALS, 'wrong password');
  if (user.disabledAt !== null) throw invalidGrant(BAD_CREDENTIALS, 'user disabled');
  if (check.needsRehash) {
    await deps.store.users.replacePasswordHash(user.id, user.passwordHash, await deps.passwords.hash(password));
  }
  return user;
}

export const passwordGrant: GrantHandler = async ({ client, params, deps }) => {
  const username = params.get('username');
  const password = params.get('password');
  if (username === undefined || password === undefined) throw invalidRequest('username and password are required');
  // Validate the whole request before the deliberately slow password check.
  const scope = resolveScope(params, client.scope.filter((token) => token !== ADMIN_SCOPE));
  const aud = resolveAudience(params, client, deps.issuer);
  const user = await checkCredentials(deps, username, password);

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
