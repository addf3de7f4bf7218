/**
 * For the routing and fault tests: raw HTTP requests whose path is sent byte for byte (fetch would normalise
 * `//token` or `/./token`), and a second server over an existing issuer's database whose key ring was never
 * loaded, which is the one fault a client can trigger from outside without touching the code.
 */
import { request, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app.js';
import { scheduleSettings } from '../../src/boot.js';
import type { Deps } from '../../src/deps.js';
import { KeyEncryption } from '../../src/keys/encryption.js';
import { KeyManager } from '../../src/keys/key-manager.js';
import type { Issuer } from './issuer.js';

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** One request with `path` exactly as given. */
export function rawRequest(base: string, method: string, path: string, options: { headers?: Record<string, string>; body?: string } = {}): Promise<RawReply> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers: { connection: 'close', ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * The app of `issuer`, on its own port, sharing its database, clock and logger, but with a key manager that was
 * constructed and never loaded: it has no signing key, so issuing a token fails in a way no request can cause
 * on a healthy issuer.
 */
export async function serveWithUnloadedKeys(issuer: Issuer): Promise<{ url: string; close(): Promise<void> }> {
  const keys = new KeyManager(
    issuer.store,
    new KeyEncryption(['never-used-0123456789abcdef0123456789abcdef']),
    scheduleSettings(issuer.config),
    issuer.clock,
    issuer.deps.log,
  );
  const deps: Deps = { ...issuer.deps, keys };
  const server: Server = createServer(createApp(deps).callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
