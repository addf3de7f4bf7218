/**
 * RFC 6749 §4.3, the resource owner password credentials grant: the login of first-party apps. RFC 9700 §2.4
 * deprecates it for third parties; Gatehouse keeps it for clients explicitly granted `password` (see README).
 * Every successful login opens a server-side session.
 */
import { audit } from '../audit/audit.js';
import { invalidGrant, invalidRequest } from '../errors.js';
import { uuidv7 } from '../lib/ids.js';
import { BAD_CREDENTIALS, checkCredentials } from '../security/credentials.js';
import { accessTokenExpiry, refreshTokenExpiry } from '../sessions/lifetime.js';
import type { SessionRecord } from '../storage/sessions.js';
import { newRefreshToken } from '../tokens/refresh-token.js';
import { ADMIN_SCOPE, mintAccessToken, resolveAudience, resolveScope, type GrantHandler } from './shared.js';

export const passwordGrant: GrantHandler = async ({ client, params, deps, ip }) => {
  const username = params.get('username');
  const password = params.get('password');
  if (username === undefined || password === undefined) throw invalidRequest('username and password are required');
  // Validate the whole request before the deliberately slow password check.
  const scope = resolveScope(params, client.scope.filter((token) => token !== ADMIN_SCOPE));
  const aud = resolveAudience(params, client, deps.issuer);
  const { user, rehash, succeeded } = await checkCredentials(deps, client.id, username, password, ip);

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
    loginSessionId: null,
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
