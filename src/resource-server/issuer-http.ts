/**
 * Requests to the issuer over a pool of kept-alive connections (one TLS handshake, not one per request), each
 * with a hard deadline that covers connecting, sending and reading the whole answer.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { IssuerUnavailable } from './errors.js';

export interface IssuerReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface IssuerRequest {
  method: 'GET' | 'POST' | 'DELETE';
  headers?: Record<string, string>;
  body?: string;
  /** Ends the request (an IssuerUnavailable) when it fires. */
  signal?: AbortSignal;
}

export interface IssuerHttp {
  send(url: string, request: IssuerRequest): Promise<IssuerReply>;
  /** Closes the pooled connections. */
  close(): void;
}

/** Far above any metadata document or introspection answer. */
const MAX_REPLY_BYTES = 64 * 1024;
/**
 * Idle pooled sockets are dropped after this, below Node's default server keep-alive timeout (5 s), so the pool
 * rarely hands out a socket the issuer is closing at that very moment.
 */
const IDLE_SOCKET_TIMEOUT_MS = 4000;

export function createIssuerHttp(settings: { timeoutMs: number; maxSockets: number }): IssuerHttp {
  const agentOptions = { keepAlive: true, maxSockets: settings.maxSockets, timeout: IDLE_SOCKET_TIMEOUT_MS };
  const agents = { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) };

  function attempt(url: URL, request: IssuerRequest, deadline: number): Promise<IssuerReply> {
    const secure = url.protocol === 'https:';
    const send = secure ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { method: request.method, headers: request.headers ?? {}, agent: secure ? agents.https : agents.http });
      let abortedBy: IssuerUnavailable | undefined;
      const abort = (reason: string) => req.destroy((abortedBy = new IssuerUnavailable(reason)));
      const timer = setTimeout(() => abort(`no answer within ${settings.timeoutMs} ms`), Math.max(0, deadline - Date.now()));
      const onAbort = () => abort('aborted');
      request.signal?.addEventListener('abort', onAbort, { once: true });
      if (request.signal?.aborted) onAbort();
      const fail = (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', onAbort);
        if (abortedBy) return reject(abortedBy);
        // A kept-alive socket the issuer closed just as it was reused: the request never reached it, so it may be
        // sent again once (Node's documented pattern for req.reusedSocket).
        const stale = req.reusedSocket && error.code === 'ECONNRESET';
        reject(new IssuerUnavailable(error.code ?? error.name, { stale }));
      };
      req.on('error', fail);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_REPLY_BYTES) abort(`answer over ${MAX_REPLY_BYTES} bytes`);
          else chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () => {
          clearTimeout(timer);
          request.signal?.removeEventListener('abort', onAbort);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.end(request.body);
    });
  }

  return {
    async send(target, request) {
      const url = new URL(target);
      const deadline = Date.now() + settings.timeoutMs;
      try {
        return await attempt(url, request, deadline);
      } catch (error) {
        if (error instanceof IssuerUnavailable && error.stale && Date.now() < deadline) return attempt(url, request, deadline);
        throw error;
      }
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
