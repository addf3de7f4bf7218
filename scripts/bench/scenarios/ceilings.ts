/**
 * The ceiling scenarios: a bare node:http hello-world (every ratio of the table is to it) and a bare Koa form
 * POST, each in a process of its own (scripts/bench/ceilings.ts).
 */
import { join } from 'node:path';
import { ROOT, TSX } from '../paths.js';
import { childEnv, startChild } from '../proc.js';
import type { Runner } from '../runner.js';
import { FORM, isActive } from './common.js';

export async function runCeilings(runner: Runner): Promise<void> {
  const { options } = runner;
  if (options.scenarios.has('ceiling-http')) {
    const server = await startChild({ name: 'ceiling-http', args: [...TSX, join(ROOT, 'scripts/bench/ceilings.ts'), 'http'], env: childEnv(), ready: /^LISTENING (\d+)/, cwd: ROOT });
    runner.coldServer = server;
    try {
      await runner.scenario('ceiling-http', 'node:http hello-world (ceiling)', async (row) => {
        await runner.measure(row, { url: `http://127.0.0.1:${server.ready[1]}`, method: 'GET', path: '/', verify: (body) => body === 'hello world' }, server);
      });
    } finally {
      await server.stop();
    }
  }
  if (options.scenarios.has('ceiling-koa')) {
    const server = await startChild({ name: 'ceiling-koa', args: [...TSX, join(ROOT, 'scripts/bench/ceilings.ts'), 'koa'], env: childEnv(), ready: /^LISTENING (\d+)/, cwd: ROOT });
    runner.coldServer = server;
    try {
      await runner.scenario('ceiling-koa', 'koa form POST (ceiling)', async (row) => {
        // The same shape as an introspection: Basic credentials and a token of a JWT's length.
        const token = 'x'.repeat(560);
        await runner.measure(
          row,
          {
            url: `http://127.0.0.1:${server.ready[1]}`,
            method: 'POST',
            path: '/introspect',
            headers: { 'content-type': FORM, authorization: 'Basic ' + Buffer.from('ceiling:' + 'y'.repeat(43)).toString('base64') },
            body: `token=${token}`,
            verify: isActive,
          },
          server,
        );
      });
    } finally {
      await server.stop();
    }
  }
}
