/**
 * The issuer login session: which user this browser is logged in as, when its password was last checked, and
 * opening one after a successful check on the login page. "Is it alive" is the same rule as for every session
 * (sessions/lifetime.ts).
 */
import type { Context } from 'koa';
import { audit } from '../audit/audit.js';
import type { NewEvent } from '../storage/events.js';
import type { Deps } from '../deps.js';
import { sha256Hex, randomToken } from '../lib/crypto.js';
import { uuidv7 } from '../lib/ids.js';
import { isSubset } from '../lib/scope.js';
import type { CheckedLogin } from '../security/credentials.js';
import { isSessionAlive } from '../sessions/lifetime.js';
import type { LoginSessionWithUser } from '../storage/login-sessions.js';
import { cookieSpec, readCookie, writeCookie } from './cookies.js';

/** This browser's live login session, with the cookie value that named it; undefined when there is none. */
export async function currentLogin(deps: Pick<Deps, 'store' | 'clock' | 'issuer'>, ctx: Context): Promise<{ session: LoginSessionWithUser; cookie: string } | undefined> {
  const cookie = readCookie(ctx, cookieSpec(deps.issuer).login);
  if (cookie === undefined) return undefined;
  const session = await deps.store.loginSessions.findByTokenHash(sha256Hex(cookie));
  if (!session || !isSessionAlive(session, session.userDisabled, deps.clock.now())) return undefined;
  return { session, cookie };
}

/**
 * Whether the password must be checked (again) before a code is issued: no login session, `prompt=login`, or a
 * password check older than `max_age` seconds (OpenID Connect Core §3.1.2.1; max_age=0 is prompt=login).
 */
export function mustLogIn(login: { authenticatedAt: number } | undefined, prompt: string | undefined, maxAge: number | undefined, now: number): boolean {
  if (login === undefined || prompt === 'login') return true;
  return maxAge !== undefined && now >= login.authenticatedAt + maxAge;
}

/** A third-party client needs the user's consent to every scope it asks for; first-party clients never ask. */
export function needsConsent(client: { thirdParty: boolean }, consented: readonly string[] | undefined, scope: readonly string[]): boolean {
  return client.thirdParty && (consented === undefined || !isSubset(scope, consented));
}

/**
 * After a successful password check on the login page: renews this browser's login session if it belongs to the
 * same user, or opens a new one (ending another user's login session in this browser, and what was opened
 * through it). Either way the cookie gets a new value, so a value known before the login is worthless after it
 * (session fixation). Like the password grant, it opens nothing if the password changed or the user was
 * disabled while the password was being checked. Returns the login session's id, or undefined.
 */
export async function openLoginSession(
  deps: Deps,
  ctx: Context,
  checked: CheckedLogin,
  previous: LoginSessionWithUser | undefined,
  clientId: string,
): Promise<string | undefined> {
  const { user, rehash } = checked;
  const now = deps.clock.now();
  const cookie = randomToken(32);
  const tokenHash = sha256Hex(cookie);
  const expiresAt = now + deps.config.sessionMaxAgeSeconds;
  const actor = `ip:${ctx.ip}`;
  const id = await deps.store.transaction(async (tx) => {
    const current = await tx.users.lockForLogin(user.id);
    if (!current || current.credentialGeneration !== user.credentialGeneration || current.disabledAt !== null) return undefined;
    if (rehash) await tx.users.replacePasswordHash(user.id, user.passwordHash, rehash);
    if (previous?.userId === user.id && (await tx.loginSessions.reauthenticate(previous.id, tokenHash, now, expiresAt))) {
      await audit(tx, now, { type: 'login', actor, subject: user.username, clientId, detail: `login session ${previous.id} renewed` });
      return previous.id;
    }
    if (previous && previous.userId !== user.id && (await tx.loginSessions.end(previous.id, now, 'replaced'))) {
      const ended = await tx.sessions.endAllListed({ loginSessionId: previous.id }, now, 'replaced');
      await audit(tx, now, { type: 'session_ended', actor, subject: previous.username, detail: `login session ${previous.id} replaced by another user's and ${ended.length} session(s)` });
      await tx.events.append(now, ...ended.map((s): NewEvent => ({ type: 'session_revoked', sessionId: s.id, userId: s.userId, clientId: s.clientId, reason: 'replaced', initiator: 'user' })));
    }
    const opened = uuidv7();
    await tx.loginSessions.insert({ id: opened, tokenHash, userId: user.id, createdAt: now, authenticatedAt: now, expiresAt, endedAt: null, endReason: null });
    await audit(tx, now, { type: 'login', actor, subject: user.username, clientId, detail: `login session ${opened}` });
    return opened;
  });
  if (id !== undefined) {
    const spec = cookieSpec(deps.issuer);
    writeCookie(ctx, spec, spec.login, cookie, deps.config.sessionMaxAgeSeconds);
  }
  return id;
}
