import { clientJson, disableClient, registerClient } from '../clients/register.js';
import type { Command } from './context.js';
import { createOutput, parseOptions, requireOption, table, UsageError } from './io.js';

const create: Command = async ({ store, clock }, args) => {
  const { values } = parseOptions(args, {
    id: { type: 'string' },
    secret: { type: 'string' },
    grants: { type: 'string' },
    scopes: { type: 'string' },
    audience: { type: 'string', multiple: true },
    introspect: { type: 'boolean' },
  });
  const grantTypes = values.grants?.split(',').map((grant) => grant.trim()).filter((grant) => grant !== '') ?? [];
  const { record, secret } = await registerClient(
    store,
    {
      id: requireOption(values.id, 'id'),
      ...(values.secret === undefined ? {} : { secret: values.secret }),
      grantTypes,
      scope: values.scopes ?? '',
      audiences: values.audience ?? [],
      introspect: values.introspect ?? false,
    },
    clock.now(),
  );
  createOutput(values.json ?? false).result(clientJson(record, secret), () =>
    [
      `client_id:     ${record.id}`,
      `client_secret: ${secret}`,
      `grant_types:   ${record.grantTypes.join(',') || '(none)'}`,
      `scope:         ${record.scope.join(' ') || '(none)'}`,
      `audience:      ${record.audiences.join(' ') || '(the issuer)'}`,
      `introspect:    ${record.introspect}`,
      values.secret === undefined ? 'The secret is shown only now: store it safely.' : '',
    ].filter((line) => line !== '').join('\n'),
  );
};

const list: Command = async ({ store }, args) => {
  const { values } = parseOptions(args, {});
  const clients = await store.clients.list();
  createOutput(values.json ?? false).result(clients.map((client) => clientJson(client)), () =>
    table(
      ['CLIENT', 'GRANTS', 'SCOPE', 'AUDIENCE', 'INTROSPECT', 'STATUS'],
      clients.map((c) => [c.id, c.grantTypes.join(',') || '-', c.scope.join(' ') || '-', c.audiences.join(' ') || '-', String(c.introspect), c.disabledAt === null ? 'enabled' : 'disabled']),
    ),
  );
};

const disable: Command = async ({ store, clock }, args) => {
  const { values, positionals } = parseOptions(args, {}, 1);
  const id = positionals[0];
  if (id === undefined) throw new UsageError('usage: gatehouse clients disable ID');
  await disableClient(store, id, clock.now());
  createOutput(values.json ?? false).result({ client_id: id, disabled: true }, () => `client ${id} disabled; its tokens are inactive and its sessions ended`);
};

export const clientCommands: Record<string, Command> = { create, list, disable };
