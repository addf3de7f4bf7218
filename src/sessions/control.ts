/**
 * Ending sessions from outside a client: the admin API and the CLI both come here. An ended session's access
 * tokens are inactive at the next introspection and its refresh token is refused with invalid_grant.
 */
import { audit } from '../audit/audit.js';
import type { SessionListing } from '../storage/sessions.js';
import type { Store } from '../storage/store.js';

/** The JSON form of a session, shared by `sessions list --json` and GET /admin/users/{u}/sessions. */
export function sessionJson(session: SessionListing) {
  return {
    sid: session.sid,
    username: session.username,
    client_id: session.clientId,
    created_at: session.createdAt,
    expires_at: session.expiresAt,
  };
}

/** Live sessions, of one user when `username` is given; undefined when that user does not exist. */
export async function listSessions(store: Store, now: number, username?: string): Promise<SessionListing[] | undefined> {
  if (username === undefined) return store.sessions.listLive(now);
  const user = await store.users.findByUsername(username);
  return user && store.sessions.listLive(now, { userId: user.id });
}

/**
 * Ends one session on behalf of `actor` (recorded in the audit trail). 'not-found' when no session ever had this
 * id; ending an ended session is not an error ('already-ended').
 */
export async function endSession(store: Store, sid: string, now: number, actor: string): Promise<'ended' | 'already-ended' | 'not-found'> {
  const session = await store.sessions.find(sid);
  if (!session) return 'not-found';
  const user = await store.users.findById(session.userId);
  return store.transaction(async (tx) => {
    if (!(await tx.sessions.end(sid, now, 'admin'))) return 'already-ended';
    await audit(tx, now, { type: 'session_ended', actor, subject: user?.username ?? null, clientId: session.clientId, detail: `sid ${sid}` });
    return 'ended';
  });
}

/** Ends every live session of a user on behalf of `actor`; how many ended, or undefined when the user does not exist. */
export async function endUserSessions(store: Store, username: string, now: number, actor: string): Promise<number | undefined> {
  const user = await store.users.findByUsername(username);
  if (!user) return undefined;
  return store.transaction(async (tx) => {
    const ended = await tx.sessions.endAll({ userId: user.id }, now, 'admin');
    if (ended > 0) await audit(tx, now, { type: 'session_ended', actor, subject: user.username, detail: `${ended} session(s)` });
    return ended;
  });
}
