import type { Config } from '../config.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import type { Store } from '../storage/store.js';

/** What a CLI command works with: the server's configuration and the database, opened by cli/main.ts. */
export interface CliContext {
  config: Config;
  store: Store;
  clock: Clock;
  log: Logger;
}

export type Command = (context: CliContext, args: string[]) => Promise<void>;
