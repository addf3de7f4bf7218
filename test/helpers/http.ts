/** A small HTTP client for tests: form posts, client authentication, and what a client sees of the answer. */

export interface Reply {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  json: any;
  text: string;
}

/** application/x-www-form-urlencoded encoding of one value, as RFC 6749 §2.3.1 asks before Basic. */
export function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/** RFC 6749 §2.3.1 client_secret_basic: id and secret form-urlencoded, then base64. */
export function basic(id: string, secret: string): string {
  return 'Basic ' + Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString('base64');
}

export async function send(url: string, init: RequestInit = {}): Promise<Reply> {
  const response = await fetch(url, init);
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, text };
}

export interface PostOptions {
  /** [client_id, client_secret] sent as client_secret_basic. */
  auth?: readonly [string, string];
  headers?: Record<string, string>;
}

/** POSTs a form. `form` may be an object (encoded here) or a raw body string. */
export function postForm(url: string, form: Record<string, string> | string, options: PostOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...options.headers };
  if (options.auth) headers.authorization = basic(options.auth[0], options.auth[1]);
  const body = typeof form === 'string' ? form : new URLSearchParams(form).toString();
  return send(url, { method: 'POST', headers, body });
}

/** Decodes a JWT's header and payload without verifying it (test inspection only). */
export function decodeJwt(token: string): { header: any; payload: any } {
  const [header, payload] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header!, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')),
  };
}
