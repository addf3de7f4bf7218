/**
 * A controllable HTTP proxy in front of an issuer, for the resource-server and client tests: it counts what
 * reaches the issuer (e.g. refresh requests at /token), and for one path it can answer an error itself, answer
 * late, hold requests until released, or reset the connection. Start it first, then start the issuer with
 * GATEHOUSE_ISSUER set to the proxy's URL, so that the metadata sends every consumer through the proxy.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  path: string;
  /** grant_type of a POST /token. */
  grantType: string | undefined;
}

export type ProxyRule =
  | { path: string; action: 'status'; status: number }
  | { path: string; action: 'delay'; delayMs: number }
  | { path: string; action: 'hold' }
  /** Forwards at once, but holds the issuer's answer until released: an answer in flight. */
  | { path: string; action: 'holdAnswer' }
  | { path: string; action: 'reset' }
  | { path: string; action: 'hang' };

export interface IssuerProxy {
  /** http://localhost:<port>: use it as GATEHOUSE_ISSUER. */
  issuer: string;
  port: number;
  /** Where requests go: the issuer's real base URL, set once it listens. */
  target: string | undefined;
  rule: ProxyRule | undefined;
  /** Changes the body of the issuer's answers (to inject or alter what the issuer said); undefined = untouched. */
  rewrite: ((path: string, body: string) => string | undefined) | undefined;
  seen: SeenRequest[];
  count(method: string, path: string, grantType?: string): number;
  /** Requests held by a `hold` rule, oldest first. */
  readonly heldCount: number;
  /** Forwards the `n` oldest held requests and waits until their answers are sent. */
  release(n?: number): Promise<void>;
  /** Waits until `n` requests are held. */
  waitForHeld(n: number, timeoutMs?: number): Promise<void>;
  /** Stops listening and drops every connection: the issuer is unreachable from then on. */
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export async function startProxy(): Promise<IssuerProxy> {
  const held: Array<() => Promise<void>> = [];
  const heldWaiters = new Set<() => void>();
  const openResponses = new Set<ServerResponse>();

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer, holdAnswer = false): Promise<void> =>
    new Promise((resolve) => {
      const target = new URL(req.url ?? '/', proxy.target);
      const upstream = request(target, { method: req.method, headers: { ...req.headers, connection: 'close' } }, (answer) => {
        // The upstream connection closes after each answer; the proxy's own connections stay kept-alive.
        const { connection: _connection, 'keep-alive': _keepAlive, ...headers } = answer.headers;
        if (proxy.rewrite || holdAnswer) {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const rewritten = proxy.rewrite?.(target.pathname, text) ?? text;
            const { 'content-length': _length, 'transfer-encoding': _encoding, ...rest } = headers;
            const write = async () => {
              if (!res.destroyed) res.writeHead(answer.statusCode ?? 502, { ...rest, 'content-length': String(Buffer.byteLength(rewritten)) }).end(rewritten);
            };
            if (!holdAnswer) return void write().then(resolve);
            held.push(write);
            for (const waiter of heldWaiters) waiter();
            resolve();
          });
          return;
        }
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res);
        answer.on('end', () => resolve());
      });
      upstream.on('error', () => {
        res.destroy();
        resolve();
      });
      upstream.end(body);
    });

  const server: Server = createServer(async (req, res) => {
    openResponses.add(res);
    res.on('close', () => openResponses.delete(res));
    const body = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://proxy').pathname;
    const grantType = req.method === 'POST' && path.endsWith('/token') ? (new URLSearchParams(body.toString('utf8')).get('grant_type') ?? undefined) : undefined;
    proxy.seen.push({ method: req.method ?? '', path, grantType });
    const rule = proxy.rule && proxy.rule.path === path ? proxy.rule : undefined;
    switch (rule?.action) {
      case 'status':
        res.writeHead(rule.status, { 'content-type': 'application/json' });
        res.end('{"error":"server_error"}');
        return;
      case 'delay':
        await new Promise((resolve) => setTimeout(resolve, rule.delayMs));
        if (!res.destroyed) await forward(req, res, body);
        return;
      case 'holdAnswer':
        await forward(req, res, body, true);
        return;
      case 'hold':
        held.push(() => forward(req, res, body));
        for (const waiter of heldWaiters) waiter();
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'hang':
        return; // never answers
      default:
        await forward(req, res, body);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const proxy: IssuerProxy = {
    issuer: `http://localhost:${port}`,
    port,
    target: undefined,
    rule: undefined,
    rewrite: undefined,
    seen: [],
    count: (method, path, grantType) =>
      proxy.seen.filter((seen) => seen.method === method && seen.path === path && (grantType === undefined || seen.grantType === grantType)).length,
    get heldCount() {
      return held.length;
    },
    async release(n = held.length) {
      await Promise.all(held.splice(0, n).map((send) => send()));
    },
    waitForHeld(n, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (held.length < n) return;
          clearTimeout(timer);
          heldWaiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          heldWaiters.delete(check);
          reject(new Error(`only ${held.length} of ${n} requests held after ${timeoutMs} ms`));
        }, timeoutMs);
        heldWaiters.add(check);
        check();
      });
    },
    async close() {
      for (const res of openResponses) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
