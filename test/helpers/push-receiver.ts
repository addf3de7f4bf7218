/**
 * A push receiver written from RFC 8935 alone, on plain node:http: it takes POSTs of SETs
 * (`Content-Type: application/secevent+jwt`, the SET as the body) and answers what the test says — 202 Accepted
 * (§2.2), 400 with `{"err", "description"}` (§2.3), any failure, or nothing at all. Tests wait on its requests
 * (`next`, `until`), never on the clock.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** The SET's jti (unverified: for bookkeeping only). */
  jti: string;
  /** The SET's txn: the outbox event id. */
  txn: string;
  at: number;
}

/** What the receiver answers to a request: a status and body, or 'hang' (never answer). */
export type Answer = { status: number; json?: unknown; delayMs?: number } | 'hang';

export interface PushReceiver {
  url: string;
  port: number;
  received: Received[];
  /** What to answer next; called for each request (default: 202). */
  answer: (request: Received) => Answer;
  /** Resolves with the next request that arrives (or one that already arrived and was not taken yet). */
  next(timeoutMs?: number): Promise<Received>;
  /** Waits until `condition` holds over what was received. */
  until(condition: (received: Received[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Stops listening (the port is closed: connections are refused). */
  close(): Promise<void>;
  /** Listens again on the same port. */
  reopen(): Promise<void>;
}

function claims(set: string): { jti: string; txn: string } {
  try {
    const payload = JSON.parse(Buffer.from(set.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return { jti: String(payload.jti), txn: String(payload.txn) };
  } catch {
    return { jti: '', txn: '' };
  }
}

export async function startPushReceiver(path = '/events'): Promise<PushReceiver> {
  const waiting: Array<(request: Received) => void> = [];
  const changed = new Set<() => void>();
  let taken = 0;
  const hanging = new Set<ServerResponse>();
  let server: Server;
  let port = 0;

  const receiver: PushReceiver = {
    url: '',
    port: 0,
    received: [],
    answer: () => ({ status: 202 }),
    next(timeoutMs = 30_000) {
      if (taken < receiver.received.length) return Promise.resolve(receiver.received[taken++]!);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no push request arrived in time')), timeoutMs);
        waiting.push((request) => {
          clearTimeout(timer);
          resolve(request);
        });
      });
    },
    until(condition, what, timeoutMs = 30_000) {
      if (condition(receiver.received)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!condition(receiver.received)) return;
          clearTimeout(timer);
          changed.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          changed.delete(check);
          reject(new Error(`timed out waiting for ${what}; received ${receiver.received.length}`));
        }, timeoutMs);
        changed.add(check);
      });
    },
    async close() {
      for (const response of hanging) response.destroy();
      hanging.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async reopen() {
      await listen(port);
    },
  };

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const received: Received = { method: request.method ?? '', path: request.url ?? '', headers: request.headers, body, ...claims(body), at: Date.now() };
      receiver.received.push(received);
      const answer = receiver.answer(received);
      const reply = (a: Exclude<Answer, 'hang'>) => {
        if (a.json === undefined) response.writeHead(a.status).end();
        else response.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.json));
      };
      if (answer === 'hang') hanging.add(response);
      else if (answer.delayMs) setTimeout(() => reply(answer), answer.delayMs);
      else reply(answer);
      if (waiting.length > 0) {
        taken++;
        waiting.shift()!(received);
      }
      for (const check of [...changed]) check();
    });
  };

  const listen = (onPort: number) =>
    new Promise<void>((resolve, reject) => {
      server = createServer(handle);
      server.once('error', reject);
      server.listen(onPort, '127.0.0.1', () => {
        port = (server.address() as AddressInfo).port;
        receiver.port = port;
        receiver.url = `http://127.0.0.1:${port}${path}`;
        resolve();
      });
    });
  await listen(0);
  return receiver;
}
