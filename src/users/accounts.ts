/** User accounts: what `gatehouse users …` does. Changing a password or disabling a user ends their sessions. */
import { audit } from '../audit/audit.js';
import { InvalidInput, OperationRefused } from '../errors.js';
import { uuidv4 } from '../lib/ids.js';
import type { PasswordHasher } from '../passwords/argon2.js';
import type { Store } from '../storage/store.js';
import type { UserRecord } from '../storage/users.js';

const MIN_PASSWORD = 8; // NIST SP 800-63B §3.1.1.2
const MAX_PASSWORD = 1024; // bounds the work one login can cause

function assertPassword(password: string): void {
  if (password.length < MIN_PASSWORD) throw new InvalidInput(`password must have at least ${MIN_PASSWORD} characters`);
  if (password.length > MAX_PASSWORD) throw new InvalidInput(`password must have at most ${MAX_PASSWORD} characters`);
}

/** Usernames are kept NFKC-normalised; control characters and surrounding spaces are refused. */
function normaliseUsername(username: string): string {
  const normalised = username.normalize('NFKC');
  if (normalised.length === 0 || normalised.length > 256 || normalised.trim() !== normalised || /\p{C}/u.test(normalised)) {
    throw new InvalidInput('username must be 1-256 characters without control characters or surrounding spaces');
  }
  return normalised;
}

export async function createUser(store: Store, passwords: PasswordHasher, username: string, password: string, now: number): Promise<UserRecord> {
  const name = normaliseUsername(username);
  assertPassword(password);
  const user: UserRecord = { id: uuidv4(), username: name, passwordHash: await passwords.hash(password), createdAt: now, disabledAt: null, credentialGeneration: 0 };
  if (await store.clients.find(user.id)) throw new OperationRefused('generated subject collides with a client id; try again');
  if (!(await store.users.insert(user))) throw new OperationRefused(`user ${name} already exists`);
  return user;
}

async function requireUser(store: Store, username: string): Promise<UserRecord> {
  const user = await store.users.findByUsername(username);
  if (!user) throw new OperationRefused(`no user ${username}`);
  return user;
}

/** Sets a new password and ends every session of the user: whoever knew the old one is logged out. */
export async function setPassword(store: Store, passwords: PasswordHasher, username: string, password: string, now: number): Promise<number> {
  assertPassword(password);
  const user = await requireUser(store, username);
  const hash = await passwords.hash(password);
  return store.transaction(async (tx) => {
    await tx.users.setPasswordHash(user.id, hash);
    // Login sessions before sessions (sessions/control.ts): the browsers that knew the old password log in again.
    await tx.loginSessions.endAllOfUser(user.id, now, 'password_changed');
    const ended = await tx.sessions.endAll({ userId: user.id }, now, 'password_changed');
    await audit(tx, now, { type: 'password_changed', actor: 'cli', subject: user.username, detail: `${ended} session(s) ended` });
    // One event: a receiver drops everything of the user on credential-change; the sessions' end is implied.
    await tx.events.append(now, { type: 'credential_change', userId: user.id, reason: 'password_changed', initiator: 'admin' });
    return ended;
  });
}

/** Disables the user: no login, and every session ends. Returns how many sessions ended. */
export async function disableUser(store: Store, username: string, now: number): Promise<number> {
  const user = await requireUser(store, username);
  return store.transaction(async (tx) => {
    await tx.users.setDisabled(user.id, user.disabledAt ?? now);
    await tx.loginSessions.endAllOfUser(user.id, now, 'user_disabled');
    const ended = await tx.sessions.endAll({ userId: user.id }, now, 'user_disabled');
    await audit(tx, now, { type: 'user_disabled', actor: 'cli', subject: user.username, detail: `${ended} session(s) ended` });
    if (user.disabledAt === null) await tx.events.append(now, { type: 'account_disabled', userId: user.id, reason: 'user_disabled', initiator: 'admin' });
    return ended;
  });
}

export async function enableUser(store: Store, username: string, now: number): Promise<void> {
  const user = await requireUser(store, username);
  await store.transaction(async (tx) => {
    await tx.users.setDisabled(user.id, null);
    await audit(tx, now, { type: 'user_enabled', actor: 'cli', subject: user.username });
    if (user.disabledAt !== null) await tx.events.append(now, { type: 'account_enabled', userId: user.id, reason: 'user_enabled', initiator: 'admin' });
  });
}
