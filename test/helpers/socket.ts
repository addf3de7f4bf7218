/** Raw TCP conversations with the server, for what an HTTP client library would refuse to send. */
import { connect } from 'node:net';

export interface SocketReply {
  status: number;
  /** The body after the header block ('' if none). */
  body: string;
  /** Milliseconds from the first byte sent until the server closed the connection. */
  elapsedMs: number;
}

/**
 * Writes `chunks` (with `pauseMs` between them) and collects whatever comes back until the server closes the
 * connection or `timeoutMs` passes.
 */
export function converse(url: string, chunks: Array<string | Buffer>, options: { pauseMs?: number; timeoutMs?: number } = {}): Promise<SocketReply> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(Number(target.port), target.hostname);
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${options.timeoutMs ?? 10_000} ms; got ${JSON.stringify(received.slice(0, 200))}`));
    }, options.timeoutMs ?? 10_000);
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => (received += data));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0);
      const split = received.indexOf('\r\n\r\n');
      resolve({ status, body: split === -1 ? '' : received.slice(split + 4), elapsedMs: Date.now() - started });
    });
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
      }
    });
  });
}
