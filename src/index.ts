/** The package's public API for embedding the issuer; the CLI and `npm start` are the usual ways to run it. */
export { createApp } from './app.js';
export { loadConfig, ConfigError, type Config } from './config.js';
export type { Deps } from './deps.js';
export { ManualClock, systemClock, type Clock } from './lib/clock.js';
