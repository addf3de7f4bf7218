#!/usr/bin/env node
/**
 * `npm start`: configuration → database → keys → app → listen. The only place, with the CLI, that reads the
 * environment.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { openKeys, openRuntime } from './boot.js';
import { ConfigError, loadConfig, resolveIssuer } from './config.js';
import { KeySecretError } from './keys/encryption.js';
import { systemClock } from './lib/clock.js';
import { createLogger } from './lib/log.js';
import { PasswordHasher } from './passwords/argon2.js';

const log = createLogger();

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const runtime = await openRuntime(config);
  const keys = await openKeys(config, runtime.store, systemClock, log);
  await keys.maintain(); // the first start creates the first signing key

  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const issuer = resolveIssuer(config, port);
  const passwords = new PasswordHasher({ memoryKib: config.argon2MemoryKib, iterations: config.argon2Iterations });
  const app = createApp({ issuer, config, store: runtime.store, keys, passwords, clock: systemClock, log });
  server.on('request', app.callback());
  keys.start();

  log.info(`Gatehouse issuer ${issuer} listening on ${config.host}:${port}`);
  if ((await runtime.store.clients.count()) === 0) {
    log.info('No client exists yet. Create one with: npx gatehouse clients create --id my-app --grants password,refresh_token --scopes "read write"');
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: finishing in-flight requests`);
    keys.stop();
    server.close(() => {
      runtime.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
    server.closeIdleConnections();
    setTimeout(() => {
      log.warn('in-flight requests did not finish in 10 s; exiting');
      process.exit(1);
    }, 10_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof KeySecretError) {
    process.stderr.write(`gatehouse: ${error.message}\n`);
  } else {
    log.error('start failed', { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  }
  process.exit(1);
});
