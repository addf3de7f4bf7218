/** GET /openapi.json: the OpenAPI 3.1 description of this issuer's HTTP API (src/openapi/document.ts). */
import type { Context } from 'koa';
import type { Deps } from '../deps.js';
import { openApiDocument } from '../openapi/document.js';

export function openApiEndpoint(deps: Deps) {
  const body = JSON.stringify(openApiDocument(deps.issuer));
  return function openApi(ctx: Context): void {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.type = 'application/json';
    ctx.body = body;
  };
}
