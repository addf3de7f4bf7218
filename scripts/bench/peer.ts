/**
 * The peer: node-oidc-provider (the reference Node OAuth server, a devDependency used only here) with one
 * client_credentials client, introspection enabled and its default in-memory store. A client_credentials
 * request without `resource` gets an opaque token; one with `resource=<PEER_RESOURCE>` gets an RFC 9068 JWT
 * signed with ES256, the algorithm Gatehouse signs with by default (resource indicators, accessTokenFormat 'jwt').
 * BENCH_PEER_RESOURCE names that resource (default https://api.bench.test).
 *
 *   BENCH_PEER_CLIENT_ID=… BENCH_PEER_CLIENT_SECRET=… node --import tsx scripts/bench/peer.ts
 *
 * Prints `LISTENING <port>`. On Node 20 it also prints an "unsupported runtime" warning, which is harmless here.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const clientId = process.env.BENCH_PEER_CLIENT_ID;
const clientSecret = process.env.BENCH_PEER_CLIENT_SECRET;
const PEER_RESOURCE = process.env.BENCH_PEER_RESOURCE ?? 'https://api.bench.test';
if (!clientId || !clientSecret) {
  process.stderr.write('peer.ts needs BENCH_PEER_CLIENT_ID and BENCH_PEER_CLIENT_SECRET\n');
  process.exit(2);
}

// oidc-provider ships no type declarations: loaded untyped.
const { default: Provider } = (await import('oidc-provider' as string)) as { default: new (issuer: string, config: object) => any };

const es256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
const rs256 = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

const server = createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

const provider = new Provider(`http://localhost:${port}`, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'read write',
    },
  ],
  // ES256 first: the JWT access tokens are signed with it. RS256 is there for ID token defaults only.
  jwks: { keys: [{ ...es256, alg: 'ES256', use: 'sig', kid: 'peer-es256' }, { ...rs256, alg: 'RS256', use: 'sig', kid: 'peer-rs256' }] },
  scopes: ['read', 'write'],
  ttl: { ClientCredentials: 300 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => false,
      getResourceServerInfo: (_ctx: unknown, resource: string) => {
        if (resource !== PEER_RESOURCE) throw new Error('unknown resource');
        return { scope: 'read write', audience: resource, accessTokenTTL: 300, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
      },
    },
  },
});
provider.proxy = false;
server.on('request', provider.callback());
process.stdout.write(`LISTENING ${port}\n`);

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
