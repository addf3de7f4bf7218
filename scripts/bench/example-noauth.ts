/**
 * The example API of scripts/example-api.ts with the resource-server middleware replaced by a stub that lets
 * every request through as one fixed user: the baseline of the resource-server round trip, so the latency the
 * middleware adds (one introspection per request) shows as the difference.
 *
 *   node --import tsx scripts/bench/example-noauth.ts        # prints `notes API listening on http://…`
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

// The example and the middleware are another engineer's work in progress: loaded untyped, used by their shape.
const example = (await import('../example-api.js' as string)) as { createExampleApp(tokens: unknown): { callback(): Parameters<typeof createServer>[1] } };

const everyone = {
  subject: 'bench-user',
  clientId: 'bench-app',
  scopes: ['notes:read', 'notes:write'],
  audience: 'https://api.bench.test',
  issuer: 'http://localhost',
  expiresAt: undefined,
  username: 'bench-user',
  sessionId: undefined,
  tokenId: undefined,
};
const noAuth = {
  requireScopes: () => async (ctx: { state: Record<string, unknown> }, next: () => Promise<void>) => {
    ctx.state.auth = everyone;
    await next();
  },
  verify: async () => everyone,
  discover: async () => ({}),
  close: () => {},
};

const server = createServer(example.createExampleApp(noAuth).callback());
server.listen(0, '127.0.0.1', () => {
  process.stderr.write(`notes API listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
