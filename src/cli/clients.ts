import { registerPublicClient } from '../clients/register-public.js';
import { clientJson, disableClient, registerClient, rotateClientSecret } from '../clients/register.js';
import type { ClientRecord } from '../storage/clients.js';
import type { Command } from './context.js';
import { createOutput, parseOptions, readStdinSecret, requireOption, table, UsageError } from './io.js';

const create: Command = async ({ store, clock }, args) => {
  const { values } = parseOptions(args, {
    id: { type: 'string' },
    secret: { type: 'string' },
    'secret-stdin': { type: 'boolean' },
    grants: { type: 'string' },
    scopes: { type: 'string' },
    audience: { type: 'string', multiple: true },
    introspect: { type: 'boolean' },
    public: { type: 'boolean' },
    origin: { type: 'string', multiple: true },
    'redirect-uri': { type: 'string', multiple: true },
    'post-logout-redirect-uri': { type: 'string', multiple: true },
    'third-party': { type: 'boolean' },
    receiver: { type: 'boolean' },
  });
  const browserLogin = {
    redirectUris: values['redirect-uri'] ?? [],
    postLogoutRedirectUris: values['post-logout-redirect-uri'] ?? [],
    thirdParty: values['third-party'] ?? false,
  };
  const grantTypes = values.grants?.split(',').map((grant) => grant.trim()).filter((grant) => grant !== '') ?? [];
  if (values.public) {
    // A public client has no secret, so it can neither hold one nor prove one to /introspect.
    if (values.secret !== undefined || values['secret-stdin']) throw new UsageError('--public clients have no secret: drop --secret');
    if (values.introspect) throw new UsageError('--public clients cannot introspect: a resource server needs a secret');
    const record = await registerPublicClient(
      store,
      {
        id: requireOption(values.id, 'id'),
        ...(values.grants === undefined ? {} : { grantTypes }),
        scope: values.scopes ?? '',
        audiences: values.audience ?? [],
        origins: values.origin ?? [],
        ...browserLogin,
      },
      clock.now(),
    );
    createOutput(values.json ?? false).result(clientJson(record), () =>
      [
        `client_id:     ${record.id}`,
        `client auth:   none (public client: client_id in the body, no secret)`,
        `grant_types:   ${record.grantTypes.join(',')}`,
        `scope:         ${record.scope.join(' ') || '(none)'}`,
        `audience:      ${record.audiences.join(' ') || '(the issuer)'}`,
        `origins:       ${record.origins.join(' ') || '(none: no browser may call /token)'}`,
        ...browserLoginLines(record),
      ].join('\n'),
    );
    return;
  }
  if (values.origin !== undefined) throw new UsageError('--origin is for --public clients: a browser cannot keep a client secret');
  // --secret-stdin keeps a chosen secret out of the shell history and the process list (ps shows arguments).
  if (values.secret !== undefined && values['secret-stdin']) throw new UsageError('give at most one of --secret or --secret-stdin');
  const chosenSecret = values['secret-stdin'] ? await readStdinSecret() : values.secret;
  const { record, secret } = await registerClient(
    store,
    {
      id: requireOption(values.id, 'id'),
      ...(chosenSecret === undefined ? {} : { secret: chosenSecret }),
      grantTypes,
      scope: values.scopes ?? '',
      audiences: values.audience ?? [],
      introspect: values.introspect ?? false,
      receiver: values.receiver ?? false,
      ...browserLogin,
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
      ...(record.receiver ? ['receiver:      yes (Shared Signals streams: ssf.manage, ssf.read)'] : []),
      ...browserLoginLines(record),
      chosenSecret === undefined ? 'The secret is shown only now: store it safely.' : '',
    ].filter((line) => line !== '').join('\n'),
  );
};

/** The browser-login settings of a client, for the human output of `clients create`. */
function browserLoginLines(record: ClientRecord): string[] {
  if (record.redirectUris.length === 0) return [];
  return [
    `redirect_uris: ${record.redirectUris.join(' ')}`,
    ...(record.postLogoutRedirectUris.length > 0 ? [`post_logout:   ${record.postLogoutRedirectUris.join(' ')}`] : []),
    `consent:       ${record.thirdParty ? 'asked (third party)' : 'none (first party)'}`,
  ];
}

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

/** `clients rotate-secret ID [--overlap SECONDS]`: a new secret now; the old one works until the overlap ends. */
const rotateSecret: Command = async ({ store, clock }, args) => {
  const { values, positionals } = parseOptions(args, { overlap: { type: 'string' } }, 1);
  const id = positionals[0];
  if (id === undefined) throw new UsageError('usage: gatehouse clients rotate-secret ID [--overlap SECONDS]');
  const overlap = values.overlap ?? '3600';
  if (!/^\d+$/.test(overlap) || Number(overlap) > 30 * 86_400) throw new UsageError('--overlap takes whole seconds, at most 30 days');
  const now = clock.now();
  const secret = await rotateClientSecret(store, id, Number(overlap), now);
  createOutput(values.json ?? false).result({ client_id: id, client_secret: secret, previous_secret_expires_at: now + Number(overlap) }, () =>
    [`client_id:     ${id}`, `client_secret: ${secret}`, `The previous secret keeps working for ${overlap} s. This secret is shown only now.`].join('\n'),
  );
};

export const clientCommands: Record<string, Command> = { create, list, disable, 'rotate-secret': rotateSecret };
