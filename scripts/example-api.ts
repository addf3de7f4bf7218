/**
 * A small protected API on the resource-server middleware: a notes service. GET /notes needs `notes:read`,
 * POST /notes (JSON {"text":"…"}) needs `notes:write`; each user sees only their own notes.
 *
 *   ISSUER=http://localhost:4000 CLIENT_ID=notes-api CLIENT_SECRET=… AUDIENCE=https://api.example.com \
 *     PORT=4100 [CORS_ORIGINS=http://localhost:5173] npx tsx scripts/example-api.ts
 *
 * Event mode (docs/resource-server-and-client.md): add EVENTS_CLIENT_ID=notes-api-events EVENTS_CLIENT_SECRET=…
 * of a client created with `gatehouse clients create --id notes-api-events --receiver`.
 *
 * Tests and the demo call startExampleApi() instead, on a free port.
 */
import Router from '@koa/router';
import Koa from 'koa';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { createResourceServer, type ResourceServer, type ResourceServerOptions, type ResourceServerState } from '../src/resource-server/index.js';

export interface ExampleApiOptions extends ResourceServerOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /**
   * Web origins of browser apps that call this API from their pages (CORS). Default none. Their requests carry
   * Authorization, so the browser asks first (a preflight); and they must be able to read WWW-Authenticate, or
   * gatehouse/client cannot tell an expired token from any other 401 (it falls back to the JSON body's error).
   */
  corsOrigins?: readonly string[];
}

export interface ExampleApi {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  resourceServer: ResourceServer;
  close(): Promise<void>;
}

interface Note {
  id: number;
  text: string;
  created_by: string;
}

const MAX_BODY_BYTES = 4096;

async function readJson(req: Koa.Context['req']): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** CORS for the listed origins: preflights answered here, before any token is looked at. */
function cors(origins: readonly string[]): Koa.Middleware {
  const allowed = new Set(origins);
  return async (ctx, next) => {
    ctx.vary('Origin');
    const origin = ctx.get('origin');
    if (!allowed.has(origin)) return next();
    ctx.set('Access-Control-Allow-Origin', origin);
    if (ctx.method === 'OPTIONS' && ctx.get('access-control-request-method') !== '') {
      ctx.set({ 'Access-Control-Allow-Methods': 'GET, POST', 'Access-Control-Allow-Headers': 'Authorization, Content-Type', 'Access-Control-Max-Age': '600' });
      ctx.status = 204;
      return;
    }
    ctx.set('Access-Control-Expose-Headers', 'WWW-Authenticate');
    await next();
  };
}

/** The Koa app: the notes routes behind the middleware. */
export function createExampleApp(tokens: ResourceServer, corsOrigins: readonly string[] = []): Koa<ResourceServerState> {
  const notesBySubject = new Map<string, Note[]>();
  let nextId = 1;
  const router = new Router<ResourceServerState>();

  router.get('/notes', tokens.requireScopes('notes:read'), (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = notesBySubject.get(ctx.state.auth.subject) ?? [];
  });

  router.post('/notes', tokens.requireScopes('notes:write'), async (ctx) => {
    const body = await readJson(ctx.req);
    const text = (body as { text?: unknown } | undefined)?.text;
    if (typeof text !== 'string' || text === '') {
      ctx.status = 400;
      ctx.body = { error: 'invalid_note', error_description: 'Send JSON {"text":"…"} of at most 4 KiB' };
      return;
    }
    const { auth } = ctx.state;
    const note: Note = { id: nextId++, text, created_by: auth.username ?? auth.subject };
    notesBySubject.set(auth.subject, [...(notesBySubject.get(auth.subject) ?? []), note]);
    ctx.status = 201;
    ctx.body = note;
  });

  const app = new Koa<ResourceServerState>();
  if (corsOrigins.length > 0) app.use(cors(corsOrigins));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

export async function startExampleApi(options: ExampleApiOptions): Promise<ExampleApi> {
  const { port = 0, host = '127.0.0.1', corsOrigins = [], ...resourceServerOptions } = options;
  const resourceServer = createResourceServer(resourceServerOptions);
  const server: Server = createServer(createExampleApp(resourceServer, corsOrigins).callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    port: bound,
    resourceServer,
    async close() {
      await resourceServer.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`example-api: set ${name}\n`);
    process.exit(2);
  }
  return value;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const api = await startExampleApi({
    issuer: required('ISSUER'),
    clientId: required('CLIENT_ID'),
    clientSecret: required('CLIENT_SECRET'),
    audience: required('AUDIENCE'),
    port: Number(process.env.PORT ?? 4100),
    ...(process.env.CACHE_TTL ? { cache: { ttlSeconds: Number(process.env.CACHE_TTL) } } : {}),
    // Event mode: EVENTS_CLIENT_ID and EVENTS_CLIENT_SECRET of a --receiver client (and SSF_POLL_WAIT, the issuer's
    // GATEHOUSE_SSF_POLL_WAIT_SECONDS, when it is not 25).
    ...(process.env.EVENTS_CLIENT_ID
      ? {
          events: {
            clientId: process.env.EVENTS_CLIENT_ID,
            clientSecret: required('EVENTS_CLIENT_SECRET'),
            ...(process.env.SSF_POLL_WAIT ? { pollWaitSeconds: Number(process.env.SSF_POLL_WAIT) } : {}),
          },
        }
      : {}),
    ...(process.env.CORS_ORIGINS ? { corsOrigins: process.env.CORS_ORIGINS.split(',') } : {}),
  });
  process.stderr.write(`notes API listening on ${api.url} (GET /notes: notes:read, POST /notes: notes:write)\n`);
  // Event mode: say when accepted tokens start (and stop) being answered from the cache, so that whoever runs
  // this API (the bench) can wait for the stream to be current rather than for a fixed time.
  if (process.env.EVENTS_CLIENT_ID) {
    let current = false;
    setInterval(() => {
      if (api.resourceServer.eventStreamCurrent() === current) return;
      current = !current;
      process.stderr.write(`notes API event stream ${current ? 'current' : 'not current'} on ${api.url}\n`);
    }, 10).unref();
  }
  const stop = () => void api.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
