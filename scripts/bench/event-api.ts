/**
 * The example API (scripts/example-api.ts) with the middleware in event mode, as a child process, and the plain
 * GET /notes calls the issue 12 scenarios make to it one token at a time (warming its cache, probing for a refusal).
 */
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { API, type Issuer } from './issuer.js';
import { ROOT, TSX } from './paths.js';
import { childEnv, startChild, type Child } from './proc.js';

/** Printed by example-api.ts once its stream is verified and current: only then are tokens served from its cache. */
const CURRENT_LINE = /notes API event stream current on (http:\/\/\S+)/;
export const NOT_CURRENT_LINE = /event stream not current/;

/**
 * An example API in event mode at `issuer`'s identifier, ready once its event stream is current (never after a
 * fixed sleep). Its issuer-side traffic (introspection, the long poll) goes to the issuer identifier's address.
 */
export function startEventApi(issuer: Issuer, name: string): Promise<Child> {
  return startChild({
    name,
    args: [...TSX, join(ROOT, 'scripts', 'example-api.ts')],
    env: childEnv({
      ISSUER: issuer.issuer,
      CLIENT_ID: issuer.rs.id,
      CLIENT_SECRET: issuer.rs.secret,
      AUDIENCE: API,
      PORT: '0',
      EVENTS_CLIENT_ID: issuer.events.id,
      EVENTS_CLIENT_SECRET: issuer.events.secret,
    }),
    ready: CURRENT_LINE,
    cwd: ROOT,
  });
}

/** Whether the API said its stream stopped being current since it started (its cache was then not used). */
export const lostCurrency = (api: Child): boolean => api.tail().some((line) => NOT_CURRENT_LINE.test(line));

/** One HTTP call on a kept-alive agent: the status and the body. */
export function call(agent: Agent, url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, method: options.method ?? 'GET', headers: options.headers ?? {}, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within 10 s`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** GET /notes with a bearer token: the status only. */
export async function getNotes(agent: Agent, apiUrl: string, token: string): Promise<number> {
  return (await call(agent, `${apiUrl}/notes`, { headers: { authorization: `Bearer ${token}` } })).status;
}

/** GET /notes with every token once, `concurrency` at a time: how many answers of each status. */
export async function answerEach(apiUrl: string, tokens: readonly string[], concurrency = 8): Promise<Map<number, number>> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const statuses = new Map<number, number>();
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < tokens.length) {
          const status = await getNotes(agent, apiUrl, tokens[next++]!);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return statuses;
}

/**
 * Every token once, so that the API has accepted (and in event mode cached) each before a measurement. Returns
 * how many were not answered 200.
 */
export async function acceptEach(apiUrl: string, tokens: readonly string[]): Promise<number> {
  return tokens.length - ((await answerEach(apiUrl, tokens)).get(200) ?? 0);
}
