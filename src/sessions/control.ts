/**
 * Ending sessions from outside a client: the admin API, the CLI and the logout page come here. An ended session's
 * access tokens are inactive at the next introspection and its refresh token is refused with invalid_grant.
 *
 * A login session (the issuer's cookie in one browser) owns every session opened through it: ending it ends all
 * of them in the same transaction. The login session's row is always updated before the sessions that carry its
 * id, on every path; the code redemption that opens a session locks that row first (storage/login-sessions.ts),
 * so a session opened while its login session ends is either seen and ended here, or refused there.
 */
import { audit } from '../audit/audit.js';
import type { LoginSessionEndReason } from '../storage/login-sessions.js';
import type { SessionListing } from '../storage/sessions.js';
import type { Initiator, NewEvent } from '../storage/events.js';
import type { Store } from '../storage/store.js';

/** Who ends a login session, as CAEP's initiating_entity: the user at /logout or another user's login; else an admin. */
function initiatorOf(reason: LoginSessionEndReason): Initiator {
  return reason === 'admin' ? 'admin' : 'user';
}

/** The JSON form of a session, shared by `sessions list --json` and GET /admin/users/{u}/sessions. */
export function sessionJson(session: SessionListing) {
  return {
    sid: session.sid,
    username: session.username,
    client_id: session.clientId,
    created_at: session.createdAt,
    expires_at: session.expiresAt,
    ...(session.loginSessionId === null ? {} : { login_session: session.loginSessionId }),
  };
}

/** Live sessions, of one user when `username` is given; undefined when that user does not exist. */
export async function listSessions(store: Store, now: number, username?: string): Promise<SessionListing[] | undefined> {
  if (username === undefined) return store.sessions.listLive(now);
  const user = await store.users.findByUsername(username);
  return user && store.sessions.listLive(now, { userId: user.id });
}

/**
 * Ends a login session and every session opened through it, on behalf of `actor`. Returns how many sessions
 * ended with it, or undefined when it had already ended (or never existed).
 */
export async function endLoginSession(store: Store, id: string, now: number, actor: string, reason: LoginSessionEndReason): Promise<number | undefined> {
  const loginSession = await store.loginSessions.find(id);
  if (!loginSession) return undefined;
  const user = await store.users.findById(loginSession.userId);
  return store.transaction(async (tx) => {
    if (!(await tx.loginSessions.end(id, now, reason))) return undefined;
    const ended = await tx.sessions.endAllListed({ loginSessionId: id }, now, reason);
    await audit(tx, now, { type: 'session_ended', actor, subject: user?.username ?? null, detail: `login session ${id} (${reason}) and ${ended.length} session(s)` });
    // One event per session: what a resource server knows of a token is its session (sid), not the login session.
    await tx.events.append(now, ...ended.map((s): NewEvent => ({ type: 'session_revoked', sessionId: s.id, userId: s.userId, clientId: s.clientId, reason, initiator: initiatorOf(reason) })));
    return ended.length;
  });
}

/**
 * Ends one session, or one login session with every session opened through it, on behalf of `actor` (recorded in
 * the audit trail). 'not-found' when no session and no login session ever had this id; ending an ended one is not
 * an error.
 */
export async function endSession(store: Store, sid: string, now: number, actor: string): Promise<number | 'not-found'> {
  const session = await store.sessions.find(sid);
  if (!session) {
    if (!(await store.loginSessions.find(sid))) return 'not-found';
    return (await endLoginSession(store, sid, now, actor, 'admin')) ?? 0;
  }
  const user = await store.users.findById(session.userId);
  return store.transaction(async (tx) => {
    if (!(await tx.sessions.end(sid, now, 'admin'))) return 0;
    await audit(tx, now, { type: 'session_ended', actor, subject: user?.username ?? null, clientId: session.clientId, detail: `sid ${sid}` });
    await tx.events.append(now, { type: 'session_revoked', sessionId: sid, userId: session.userId, clientId: session.clientId, reason: 'admin', initiator: 'admin' });
    return 1;
  });
}

/**
 * Ends every session and every login session of a user on behalf of `actor`; how many sessions ended, or
 * undefined when the user does not exist.
 */
export async function endUserSessions(store: Store, username: string, now: number, actor: string): Promise<number | undefined> {
  const user = await store.users.findByUsername(username);
  if (!user) return undefined;
  return store.transaction(async (tx) => {
    // Login sessions first: see the module comment.
    const loginSessions = await tx.loginSessions.endAllOfUser(user.id, now, 'admin');
    const ended = await tx.sessions.endAll({ userId: user.id }, now, 'admin');
    if (ended + loginSessions > 0) {
      await audit(tx, now, { type: 'session_ended', actor, subject: user.username, detail: `${ended} session(s), ${loginSessions} login session(s)` });
    }
    // One event for the user (no session): every session of theirs ended. None when no token was alive.
    if (ended > 0) await tx.events.append(now, { type: 'session_revoked', userId: user.id, reason: 'admin', initiator: 'admin' });
    return ended;
  });
}
