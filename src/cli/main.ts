#!/usr/bin/env node
/**
 * `gatehouse <noun> <verb> [options]`: administration on the database directly, whether or not the server runs.
 * Exit 0 on success, 1 when the operation is refused, 2 on bad usage. Errors are one line on stderr.
 */
import { openRuntime } from '../boot.js';
import { ConfigError, loadConfig } from '../config.js';
import { InvalidInput, OperationRefused } from '../errors.js';
import { KeySecretError } from '../keys/encryption.js';
import { systemClock } from '../lib/clock.js';
import { createLogger } from '../lib/log.js';
import { auditCommand } from './audit.js';
import { clientCommands } from './clients.js';
import { consentCommands } from './consents.js';
import type { Command } from './context.js';
import { UsageError } from './io.js';
import { keyCommands } from './keys.js';
import { janitor, migrate } from './maintenance.js';
import { sessionCommands } from './sessions.js';
import { streamCommands } from './streams.js';
import { userCommands } from './users.js';

const nouns: Record<string, Record<string, Command>> = {
  clients: clientCommands,
  users: userCommands,
  sessions: sessionCommands,
  consents: consentCommands,
  keys: keyCommands,
  streams: streamCommands,
};

/** Commands without a noun. */
const singles: Record<string, Command> = { migrate, janitor, audit: auditCommand };

const USAGE = `usage: gatehouse <command> [--json]
  clients create --id ID [--secret-stdin | --secret S] [--grants authorization_code,refresh_token,client_credentials,password] [--scopes "a b"] [--audience URI]... [--introspect]
                 [--redirect-uri URI]... [--post-logout-redirect-uri URI]... [--third-party] [--receiver]
  clients create --public --id ID [--grants authorization_code,refresh_token] [--scopes "a b"] [--audience URI]... [--origin https://app.example]...
                 [--redirect-uri URI]... [--post-logout-redirect-uri URI]... [--third-party]
  clients list | clients disable ID | clients rotate-secret ID [--overlap SECONDS]
  users create --username U (--password P | --password-stdin)
  users set-password U (--password P | --password-stdin) | users disable U | users enable U
  sessions list [--user U] | sessions revoke SID | sessions revoke --user U   (SID: a session or a login session)
  consents list --user U | consents revoke --user U --client ID
  keys list | keys rotate [--now] | keys revoke KID | keys reencrypt
  streams list [--client ID] | streams show STREAM_ID | streams disable STREAM_ID [--reason TEXT]   (Shared Signals)
  migrate                 apply pending database migrations (npm start does it too)
  janitor                 delete expired sessions, refresh tokens and revocations once
  audit [--user U] [--since 24h|ISO|epoch] [--limit N]   the security events, newest first`;

async function run(argv: string[]): Promise<void> {
  const [noun, verb, ...args] = argv;
  if (noun === undefined || noun === '--help' || noun === 'help') {
    process.stdout.write(USAGE + '\n');
    if (noun === undefined) process.exitCode = 2;
    return;
  }
  const single = singles[noun];
  const command = single ?? nouns[noun]?.[verb ?? ''];
  if (!command) throw new UsageError(`unknown command: ${[noun, verb].filter(Boolean).join(' ')} (gatehouse --help lists them)`);
  const commandArgs = single ? argv.slice(1) : args;
  const config = loadConfig(process.env);
  // CLI logs (key steps) go to stderr, so that stdout holds only the result.
  const log = createLogger();
  const runtime = await openRuntime(config, log);
  try {
    await command({ config, store: runtime.store, clock: systemClock, log }, commandArgs);
  } finally {
    await runtime.close();
  }
}

run(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof OperationRefused || error instanceof ConfigError || error instanceof KeySecretError) {
    process.stderr.write(`gatehouse: ${message}\n`);
    process.exitCode = 1;
  } else if (error instanceof InvalidInput) {
    process.stderr.write(`gatehouse: ${message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`gatehouse: unexpected error: ${error instanceof Error ? error.name : 'error'}: ${message}\n`);
    process.exitCode = 1;
  }
});
