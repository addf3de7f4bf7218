/**
 * The load generator in a process of its own (`npm run bench -- --generator process`): receives one LoadSpec
 * over IPC, drives it with autocannon, sends the Measurement back and exits. The body check arrives as the
 * source of the bench's own check function (scenarios/common.ts: self-contained arrow functions).
 */
import { drive, type LoadSpec } from './load.js';

process.once('message', (message: { spec: Omit<LoadSpec, 'verify' | 'perConnection'>; verify?: string }) => {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- our own check functions, sent by the parent bench
  const verify = message.verify === undefined ? undefined : (new Function(`return (${message.verify});`)() as (body: string) => boolean);
  drive({ ...message.spec, ...(verify ? { verify } : {}) }).then(
    (measured) => process.send!(measured, () => process.exit(0)),
    (error: unknown) => {
      process.stderr.write(`load generator: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
});
