/**
 * The peer scenarios: node-oidc-provider 9 (scripts/bench/peer.ts) introspecting opaque tokens and issuing
 * client_credentials tokens, opaque and JWT, to compare the issuer with.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { PEER_SCENARIOS } from '../options.js';
import { ROOT, TSX } from '../paths.js';
import { childEnv, startChild } from '../proc.js';
import type { Runner } from '../runner.js';
import { FORM, hasAccessToken, isActive } from './common.js';

/** The resource for which the peer issues JWT access tokens. */
const PEER_RESOURCE = 'https://api.bench.test';

const PEER_NAMES: Record<string, string> = {
  'peer-introspect': 'peer: introspect (opaque)',
  'peer-cc-opaque': 'peer: client_credentials (opaque)',
  'peer-cc-jwt': 'peer: client_credentials (JWT ES256)',
};

export async function runPeer(runner: Runner): Promise<void> {
  const wanted = PEER_SCENARIOS.filter((id) => runner.options.scenarios.has(id));
  if (wanted.length === 0) return;
  const clientId = 'bench-peer';
  const secret = randomBytes(32).toString('base64url');
  const server = await startChild({
    name: 'peer',
    args: [...TSX, join(ROOT, 'scripts/bench/peer.ts')],
    env: childEnv({ BENCH_PEER_CLIENT_ID: clientId, BENCH_PEER_CLIENT_SECRET: secret, BENCH_PEER_RESOURCE: PEER_RESOURCE, NODE_ENV: 'production' }),
    ready: /^LISTENING (\d+)/,
    cwd: ROOT,
  });
  runner.coldServer = server;
  const url = `http://127.0.0.1:${server.ready[1]}`;
  const authorization = 'Basic ' + Buffer.from(`${clientId}:${secret}`).toString('base64');
  const headers = { 'content-type': FORM, authorization };
  try {
    await runner.scenario('peer-introspect', PEER_NAMES['peer-introspect']!, async (row) => {
      // 1,000 opaque tokens in its in-memory store (an LRU of 1,000 entries: the pool fits, and every answer is checked).
      const tokens: string[] = [];
      for (let batch = 0; batch < 1000; batch += 50) {
        const replies = await Promise.all(
          Array.from({ length: 50 }, async () => {
            const response = await fetch(`${url}/token`, { method: 'POST', headers, body: 'grant_type=client_credentials' });
            if (response.status !== 200) throw new Error(`peer token request: ${response.status}`);
            return ((await response.json()) as { access_token: string }).access_token;
          }),
        );
        tokens.push(...replies);
      }
      await runner.measure(row, { url, method: 'POST', path: '/token/introspection', headers, bodies: tokens.map((token) => `token=${token}`), verify: isActive }, server);
      row.notes.push('1,000 opaque client_credentials tokens from its default in-memory store');
    });
    await runner.scenario('peer-cc-opaque', PEER_NAMES['peer-cc-opaque']!, async (row) => {
      await runner.measure(row, { url, method: 'POST', path: '/token', headers, body: 'grant_type=client_credentials', verify: hasAccessToken }, server);
    });
    await runner.scenario('peer-cc-jwt', PEER_NAMES['peer-cc-jwt']!, async (row) => {
      await runner.measure(
        row,
        {
          url,
          method: 'POST',
          path: '/token',
          headers,
          body: `grant_type=client_credentials&resource=${encodeURIComponent(PEER_RESOURCE)}`,
          verify: (body) => body.includes('"access_token":"eyJ'),
        },
        server,
      );
    });
  } finally {
    await server.stop();
  }
}
