import type { Config } from './config.js';
import type { KeyManager } from './keys/key-manager.js';
import type { Clock } from './lib/clock.js';
import type { IssuerLogger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import type { PasswordHasher } from './passwords/argon2.js';
import type { Throttle } from './security/throttle.js';
import type { Store } from './storage/store.js';

/** Everything the issuer needs, handed to createApp; nothing is read from globals. */
export interface Deps {
  /** The issuer identifier: `iss` in every token and `issuer` in the metadata, byte for byte. */
  readonly issuer: string;
  readonly config: Config;
  readonly store: Store;
  readonly keys: KeyManager;
  readonly passwords: PasswordHasher;
  readonly throttle: Throttle;
  readonly clock: Clock;
  readonly log: IssuerLogger;
  readonly metrics: Metrics;
}
