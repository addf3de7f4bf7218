import { openKeys, scheduleSettings } from '../boot.js';
import { sealStoredAuthorizations } from '../ssf/push-authorization.js';
import { OperationRefused } from '../errors.js';
import { nextKeyEligibleAt } from '../keys/schedule.js';
import type { SigningKeyRecord } from '../storage/signing-keys.js';
import type { CliContext, Command } from './context.js';
import { createOutput, isoTime, parseOptions, table, UsageError } from './io.js';

function keyJson(key: SigningKeyRecord) {
  return { kid: key.kid, alg: key.alg, state: key.state, created_at: key.createdAt, activated_at: key.activatedAt, retired_at: key.retiredAt };
}

const open = ({ config, store, clock, log }: CliContext) => openKeys(config, store, clock, log);

const list: Command = async ({ store }, args) => {
  const { values } = parseOptions(args, {});
  const keys = await store.signingKeys.list();
  createOutput(values.json ?? false).result(keys.map(keyJson), () =>
    table(
      ['KID', 'ALG', 'STATE', 'CREATED', 'ACTIVATED', 'RETIRED'],
      keys.map((k) => [k.kid, k.alg, k.state, isoTime(k.createdAt), isoTime(k.activatedAt), isoTime(k.retiredAt ?? k.revokedAt)]),
    ),
  );
};

/**
 * `keys rotate`: the next key signs from now on, the current one retires, a new next key is made. The next key
 * must have been published for the pre-publication time; `--now` skips that wait for an emergency.
 */
const rotate: Command = async (context, args) => {
  const { values } = parseOptions(args, { now: { type: 'boolean' } });
  const keys = await open(context);
  const next = keys.ring.records.find((key) => key.state === 'next');
  const settings = scheduleSettings(context.config);
  const now = context.clock.now();
  if (!values.now && next && now < nextKeyEligibleAt(next, settings)) {
    const wait = nextKeyEligibleAt(next, settings) - now;
    throw new OperationRefused(`next key ${next.kid} has been published for ${now - next.createdAt}s; it may sign in ${wait}s (JWKS caches may not have it yet). Use --now for an emergency rotation`);
  }
  await keys.rotate(values.now ? 'now' : 'published');
  const current = keys.ring.signing;
  const warning = values.now ? ' (emergency: pre-publication skipped; consumers with a cached JWKS may reject new tokens until they refetch it)' : '';
  createOutput(values.json ?? false).result({ current: current?.kid ?? null, emergency: values.now ?? false }, () => `${current?.kid} now signs${warning}`);
  if (values.now && !values.json) process.stderr.write('warning: pre-publication skipped\n');
};

const revoke: Command = async (context, args) => {
  const { values, positionals } = parseOptions(args, {}, 1);
  const kid = positionals[0];
  if (kid === undefined) throw new UsageError('usage: gatehouse keys revoke KID');
  const keys = await open(context);
  if (!(await keys.revoke(kid))) throw new OperationRefused(`no key ${kid} that could be revoked`);
  createOutput(values.json ?? false).result({ kid, revoked: true, current: keys.ring.signing?.kid ?? null }, () => `key ${kid} revoked; ${keys.ring.signing?.kid} signs`);
};

const reencrypt: Command = async (context, args) => {
  const { values } = parseOptions(args, {});
  const keys = await open(context);
  const changed = await keys.reencrypt();
  // The other secrets sealed under the same key secrets: push receivers' Authorization headers.
  const headers = await sealStoredAuthorizations(context.store.streams, keys.encryption, { reseal: true });
  createOutput(values.json ?? false).result(
    { reencrypted: changed, push_authorizations_resealed: headers },
    () => `${changed} key(s) and ${headers} push authorization header(s) re-encrypted under the first secret`,
  );
};

export const keyCommands: Record<string, Command> = { list, rotate, revoke, reencrypt };
