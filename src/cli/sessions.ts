import { OperationRefused } from '../errors.js';
import { endSession, endUserSessions, listSessions, sessionJson } from '../sessions/control.js';
import type { Command } from './context.js';
import { createOutput, isoTime, parseOptions, table, UsageError } from './io.js';

const list: Command = async ({ store, clock }, args) => {
  const { values } = parseOptions(args, { user: { type: 'string' } });
  const sessions = await listSessions(store, clock.now(), values.user);
  if (!sessions) throw new OperationRefused(`no user ${values.user}`);
  createOutput(values.json ?? false).result(sessions.map(sessionJson), () =>
    table(
      ['SID', 'USER', 'CLIENT', 'CREATED', 'EXPIRES', 'LOGIN SESSION'],
      sessions.map((s) => [s.sid, s.username, s.clientId, isoTime(s.createdAt), isoTime(s.expiresAt), s.loginSessionId ?? '-']),
    ),
  );
};

/**
 * `sessions revoke SID` or `sessions revoke --user U`. SID may name a login session (the LOGIN SESSION column):
 * it ends with every session opened through it.
 */
const revoke: Command = async ({ store, clock, log }, args) => {
  const { values, positionals } = parseOptions(args, { user: { type: 'string' } }, 1);
  const sid = positionals[0];
  if ((sid === undefined) === (values.user === undefined)) throw new UsageError('usage: gatehouse sessions revoke (SID | --user USERNAME)');
  const out = createOutput(values.json ?? false);
  if (sid !== undefined) {
    if ((await endSession(store, sid, clock.now(), 'cli')) === 'not-found') throw new OperationRefused(`no session ${sid}`);
    log.info('session ended', { sid, by: 'cli' });
    out.result({ sid, ended: true }, () => `session ${sid} ended`);
    return;
  }
  const ended = await endUserSessions(store, values.user!, clock.now(), 'cli');
  if (ended === undefined) throw new OperationRefused(`no user ${values.user}`);
  out.result({ username: values.user, sessions_ended: ended }, () => `${ended} session(s) of ${values.user} ended`);
};

export const sessionCommands: Record<string, Command> = { list, revoke };
