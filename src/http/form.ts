import type { Context } from 'koa';
import { invalidRequest, OAuthError, payloadTooLarge } from '../errors.js';
import { FormDecodeError, parseForm } from '../lib/form-urlencoded.js';

export type FormParams = ReadonlyMap<string, string>;

/** The largest body any endpoint accepts: far above any legitimate request, far below a memory problem. */
export const MAX_BODY_BYTES = 16 * 1024;

/** RFC 6749 §3.2 / RFC 7662 §2.1 / RFC 7009 §2.1: parameters come form-encoded in a POST body. */
function assertFormContentType(ctx: Context): void {
  const header = ctx.get('content-type');
  const [mediaType = '', ...parameters] = header.split(';');
  if (mediaType.trim().toLowerCase() !== 'application/x-www-form-urlencoded') {
    throw invalidRequest('Content-Type must be application/x-www-form-urlencoded');
  }
  for (const parameter of parameters) {
    const [name = '', value = ''] = parameter.split('=');
    if (name.trim().toLowerCase() === 'charset' && value.trim().replace(/"/g, '').toLowerCase() !== 'utf-8') {
      throw invalidRequest('The form must be encoded in UTF-8');
    }
  }
}

/** The client closed the connection before its body arrived. */
export class RequestAborted extends Error {
  override readonly name = 'RequestAborted';
}

/** The raw body, at most MAX_BODY_BYTES (413 beyond). */
export async function readBody(ctx: Context): Promise<Buffer> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > MAX_BODY_BYTES) throw payloadTooLarge(MAX_BODY_BYTES);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) throw payloadTooLarge(MAX_BODY_BYTES);
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof OAuthError) throw error;
    throw new RequestAborted('request body aborted');
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

/** Reads and strictly decodes the form body of a POST endpoint. */
export async function readForm(ctx: Context): Promise<FormParams> {
  assertFormContentType(ctx);
  // RFC 6749 §2.3.1: credentials "MUST NOT be included in the request URI"; Gatehouse takes no parameter there.
  if (ctx.querystring !== '') throw invalidRequest('Parameters must be sent in the request body, not in the URI');
  const body = await readBody(ctx);
  try {
    return parseForm(body);
  } catch (error) {
    if (error instanceof FormDecodeError) throw invalidRequest(`Malformed form body: ${error.message}`);
    throw error;
  }
}
