/** JSON request bodies (the Shared Signals API): application/json, UTF-8, at most 16 KiB, an object. */
import type { Context } from 'koa';
import { invalidRequest } from '../errors.js';
import { readBody } from './form.js';

export type JsonObject = Record<string, unknown>;

export async function readJsonObject(ctx: Context): Promise<JsonObject> {
  const [mediaType = ''] = ctx.get('content-type').split(';');
  if (mediaType.trim().toLowerCase() !== 'application/json') throw invalidRequest('Content-Type must be application/json');
  if (ctx.querystring !== '') throw invalidRequest('Parameters must be sent in the request body, not in the URI');
  const body = await readBody(ctx);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw invalidRequest('The body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidRequest('The body must be a JSON object');
  return parsed as JsonObject;
}

/** A string member: absent gives undefined; anything but a string of 1..maxLength printable characters is refused. */
export function optionalString(body: JsonObject, name: string, maxLength: number): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength || /\p{Cc}/u.test(value)) {
    throw invalidRequest(`${name} must be a string of 1 to ${maxLength} characters`);
  }
  return value;
}

export function requiredString(body: JsonObject, name: string, maxLength: number): string {
  const value = optionalString(body, name, maxLength);
  if (value === undefined) throw invalidRequest(`${name} is required`);
  return value;
}

/** One query parameter, at most once. */
export function queryParameter(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  if (Array.isArray(value)) throw invalidRequest(`${name} must not be repeated`);
  return value === undefined || value === '' ? undefined : value;
}
