/**
 * The node:http server around the Koa app, with the limits an internet-facing issuer needs: headers and whole
 * requests must arrive in bounded time (slow clients are cut off), headers are capped in size, and the errors
 * Node's HTTP parser answers by itself (malformed request, headers too large, timeout) get a JSON body like
 * every other error instead of a bare status line.
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type Koa from 'koa';

export const LIMITS = {
  /** Node's default is 16 KiB; no legitimate request to an issuer needs more than a few hundred bytes. */
  maxHeaderBytes: 8 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  /** How often Node checks the two timeouts above; its default (30 s) would let a slow client stay 30 s more. */
  timeoutCheckIntervalMs: 1_000,
};

export type ServerLimits = typeof LIMITS;

function jsonError(status: number, reason: string, error: string, description: string): string {
  const body = JSON.stringify({ error, error_description: description });
  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`
  );
}

/** Answers what the HTTP parser refused before Koa ever saw a request. */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      socket.end(jsonError(431, 'Request Header Fields Too Large', 'invalid_request', 'The request headers are too large'));
      return;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      socket.end(jsonError(408, 'Request Timeout', 'invalid_request', 'The request took too long to arrive'));
      return;
    case 'ECONNRESET':
      socket.destroy();
      return;
    default:
      socket.end(jsonError(400, 'Bad Request', 'invalid_request', 'The request is not valid HTTP'));
  }
}

export function createHttpServer(overrides: Partial<ServerLimits> = {}): Server {
  const limits = { ...LIMITS, ...overrides };
  const server = createServer({
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
  });
  server.on('clientError', answerClientError);
  return server;
}

/** Attaches the app once the issuer URL is known (it may depend on the port bound). */
export function serve(server: Server, app: Koa): void {
  server.on('request', app.callback());
}
