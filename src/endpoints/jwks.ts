/** GET /.well-known/jwks.json (RFC 7517 §5): the public keys of the ring, next, current and retired. */
import type { Context } from 'koa';
import type { Deps } from '../deps.js';

export function jwksEndpoint(deps: Deps) {
  return function jwks(ctx: Context): void {
    // The max-age never exceeds the pre-publication time of a next key, so no cache can miss a key that signs.
    ctx.set('Cache-Control', `public, max-age=${deps.config.jwksMaxAgeSeconds}`);
    ctx.type = 'application/json';
    ctx.body = { keys: deps.keys.ring.publicJwks() };
  };
}
