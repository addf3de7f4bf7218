/**
 * `gatehouse/resource-server`: Koa middleware for an API that accepts Gatehouse access tokens.
 *
 *   const tokens = createResourceServer({ issuer, clientId, clientSecret, audience: 'https://api.example.com' });
 *   router.get('/notes', tokens.requireScopes('notes:read'), (ctx) => { ctx.state.auth.subject; … });
 */
export { createResourceServer, type ResourceServer, type ResourceServerState } from './resource-server.js';
export type { ResourceServerCacheOptions, ResourceServerEventOptions, ResourceServerOptions } from './options.js';
export type { VerifiedToken } from './verified-token.js';
export type { IssuerMetadata } from './discovery.js';
