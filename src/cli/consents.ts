import { consentJson, listConsents, revokeConsent } from '../users/consents.js';
import type { Command } from './context.js';
import { createOutput, isoTime, parseOptions, requireOption, table } from './io.js';

/** `consents list --user U`: the third-party clients U allowed, with the scopes. */
const list: Command = async ({ store }, args) => {
  const { values } = parseOptions(args, { user: { type: 'string' } });
  const consents = await listConsents(store, requireOption(values.user, 'user'));
  createOutput(values.json ?? false).result(consents.map(consentJson), () =>
    table(['CLIENT', 'SCOPE', 'GRANTED'], consents.map((c) => [c.clientId, c.scope.join(' ') || '-', isoTime(c.grantedAt)])),
  );
};

/** `consents revoke --user U --client ID`: the next login at ID asks U again; U's sessions at ID end now. */
const revoke: Command = async ({ store, clock }, args) => {
  const { values } = parseOptions(args, { user: { type: 'string' }, client: { type: 'string' } });
  const username = requireOption(values.user, 'user');
  const clientId = requireOption(values.client, 'client');
  const ended = await revokeConsent(store, username, clientId, clock.now(), 'cli');
  createOutput(values.json ?? false).result({ username, client_id: clientId, revoked: true, sessions_ended: ended }, () =>
    `consent of ${username} to ${clientId} revoked; ${ended} session(s) ended`,
  );
};

export const consentCommands: Record<string, Command> = { list, revoke };
