import { PasswordHasher } from '../passwords/argon2.js';
import { createUser, disableUser, enableUser, setPassword } from '../users/accounts.js';
import type { CliContext, Command } from './context.js';
import { createOutput, parseOptions, passwordOption, requireOption, UsageError } from './io.js';

const hasher = ({ config }: CliContext) => new PasswordHasher({ memoryKib: config.argon2MemoryKib, iterations: config.argon2Iterations });

const PASSWORD_OPTIONS = { password: { type: 'string' }, 'password-stdin': { type: 'boolean' } } as const;

const create: Command = async (context, args) => {
  const { values } = parseOptions(args, { username: { type: 'string' }, ...PASSWORD_OPTIONS });
  const username = requireOption(values.username, 'username');
  const user = await createUser(context.store, hasher(context), username, await passwordOption(values), context.clock.now());
  createOutput(values.json ?? false).result({ id: user.id, username: user.username }, () => `user ${user.username} created, sub ${user.id}`);
};

function usernameArgument(positionals: string[], usage: string): string {
  const username = positionals[0];
  if (username === undefined) throw new UsageError(`usage: gatehouse users ${usage}`);
  return username;
}

const setPasswordCommand: Command = async (context, args) => {
  const { values, positionals } = parseOptions(args, PASSWORD_OPTIONS, 1);
  const username = usernameArgument(positionals, 'set-password USERNAME (--password P | --password-stdin)');
  const ended = await setPassword(context.store, hasher(context), username, await passwordOption(values), context.clock.now());
  createOutput(values.json ?? false).result({ username, sessions_ended: ended }, () => `password of ${username} changed; ${ended} session(s) ended`);
};

const disable: Command = async ({ store, clock }, args) => {
  const { values, positionals } = parseOptions(args, {}, 1);
  const username = usernameArgument(positionals, 'disable USERNAME');
  const ended = await disableUser(store, username, clock.now());
  createOutput(values.json ?? false).result({ username, disabled: true, sessions_ended: ended }, () => `user ${username} disabled; ${ended} session(s) ended`);
};

const enable: Command = async ({ store, clock }, args) => {
  const { values, positionals } = parseOptions(args, {}, 1);
  const username = usernameArgument(positionals, 'enable USERNAME');
  await enableUser(store, username, clock.now());
  createOutput(values.json ?? false).result({ username, disabled: false }, () => `user ${username} enabled`);
};

export const userCommands: Record<string, Command> = { create, 'set-password': setPasswordCommand, disable, enable };
