/**
 * What users allowed third-party clients: listing and withdrawing it (`gatehouse consents …`). Withdrawing a
 * consent also ends the user's sessions at that client, so the client loses what the consent gave it now, not
 * when its refresh token runs out; its next login asks the user again.
 */
import { audit } from '../audit/audit.js';
import { OperationRefused } from '../errors.js';
import type { ConsentRecord } from '../storage/consents.js';
import type { Store } from '../storage/store.js';

export async function listConsents(store: Store, username: string): Promise<ConsentRecord[]> {
  const user = await store.users.findByUsername(username);
  if (!user) throw new OperationRefused(`no user ${username}`);
  return store.consents.listForUser(user.id);
}

/** Withdraws the consent; returns how many of the user's sessions at the client ended. */
export async function revokeConsent(store: Store, username: string, clientId: string, now: number, actor: string): Promise<number> {
  const user = await store.users.findByUsername(username);
  if (!user) throw new OperationRefused(`no user ${username}`);
  return store.transaction(async (tx) => {
    if (!(await tx.consents.revoke(user.id, clientId))) throw new OperationRefused(`${username} has not consented to ${clientId}`);
    const ended = await tx.sessions.endAll({ userId: user.id, clientId }, now, 'consent_revoked');
    await audit(tx, now, { type: 'consent_revoked', actor, subject: user.username, clientId, detail: `${ended} session(s) ended` });
    // One event for the user at this client: every session of the user there ended.
    if (ended > 0) await tx.events.append(now, { type: 'session_revoked', userId: user.id, clientId, reason: 'consent_revoked', initiator: actor === 'cli' || actor.startsWith('admin') ? 'admin' : 'user' });
    return ended;
  });
}

export function consentJson(consent: ConsentRecord) {
  return { client_id: consent.clientId, scope: consent.scope.join(' '), granted_at: consent.grantedAt };
}
