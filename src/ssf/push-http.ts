/**
 * One RFC 8935 push: POST the SET to the receiver's endpoint and read what it says. Bounded in every way: a
 * timeout for the whole exchange, at most MAX_RESPONSE_BYTES of the answer read, redirects never followed
 * (node:http does not), and the connection only to an address the push URL policy allows (ssf/push-url.ts).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { guardedLookup, type PushUrlPolicy } from './push-url.js';

const MAX_RESPONSE_BYTES = 8 * 1024;

export type PushResult =
  /** RFC 8935 §2.2: "202 Accepted" — the SET was received (and, per §2.4, may now be forgotten). */
  | { kind: 'accepted' }
  /** RFC 8935 §2.3: 400 with `{"err": …, "description": …}` — the receiver will not take this SET. */
  | { kind: 'rejected'; err: string; description: string | undefined }
  /** Anything else: to be tried again. `reason` is safe to log (no header value, no body beyond a short error). */
  | { kind: 'failed'; reason: string };

/** Keeps a receiver-supplied string printable, short, and free of quotes (it ends up in logs and the CLI). */
function clean(value: string, max: number): string {
  return value.replace(/[^\x20-\x7e]|["\\]/g, '?').slice(0, max);
}

function readBounded(response: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        response.destroy();
        resolve('');
        return;
      }
      chunks.push(chunk);
    });
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', () => resolve(''));
    response.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function interpret(status: number, body: string): PushResult {
  if (status === 202) return { kind: 'accepted' };
  if (status === 400) {
    try {
      const parsed = JSON.parse(body) as { err?: unknown; description?: unknown };
      // RFC 8935 §2.3: err is REQUIRED, a code from the "Security Event Token Error Codes" registry (§7.1).
      if (typeof parsed.err === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(parsed.err)) {
        return { kind: 'rejected', err: parsed.err, description: typeof parsed.description === 'string' ? clean(parsed.description, 256) : undefined };
      }
    } catch {
      // not the RFC 8935 error JSON: a failure like any other, tried again
    }
    return { kind: 'failed', reason: 'HTTP 400 without an RFC 8935 error' };
  }
  if (status >= 300 && status < 400) return { kind: 'failed', reason: `HTTP ${status} (redirects are not followed)` };
  return { kind: 'failed', reason: `HTTP ${status}` };
}

export function pushSet(endpoint: string, set: string, authorization: string | null, policy: PushUrlPolicy, timeoutMs: number, abort?: AbortSignal): Promise<PushResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: PushResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      abort?.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const url = new URL(endpoint);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const body = Buffer.from(set, 'ascii');
    const req = send(url, {
      method: 'POST',
      headers: {
        // RFC 8935 §2.1: the SET is the body, "application/secevent+jwt".
        'content-type': 'application/secevent+jwt',
        accept: 'application/json',
        'content-length': String(body.length),
        ...(authorization === null ? {} : { authorization }),
      },
      lookup: guardedLookup(policy) as never,
      agent: false,
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish({ kind: 'failed', reason: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    const onAbort = () => {
      req.destroy();
      finish({ kind: 'failed', reason: 'aborted (shutdown)' });
    };
    abort?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (error: NodeJS.ErrnoException) => finish({ kind: 'failed', reason: clean(error.code ?? 'connection error', 64) }));
    req.on('response', (response) => {
      void readBounded(response).then((text) => finish(interpret(response.statusCode ?? 0, text)));
    });
    req.end(body);
  });
}
