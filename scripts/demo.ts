/**
 * `npm run demo`: the "Which status code?" story of the README, played against real processes and printed step
 * by step. The issuer runs as `node dist/main.js` on a free port with access tokens that live a few seconds of
 * real time; the notes API (scripts/example-api.ts) and the self-renewing client run here. Exits 1 as soon as
 * one answer differs from what the README promises.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGatehouseClient, SessionEndedError, type GatehouseClient } from '../src/client/index.js';
import { createLogger } from '../src/lib/log.js';
import { startExampleApi, type ExampleApi } from './example-api.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN_JS = join(ROOT, 'dist', 'main.js');
const CLI_JS = join(ROOT, 'dist', 'cli', 'main.js');
const ACCESS_TOKEN_TTL_SECONDS = 3;
const API_AUDIENCE = 'https://notes.example';
const ALICE = { username: 'alice', password: 'correct-horse-battery' };
/** The start line, inside a JSON log line: {"level":"info",…,"msg":"Gatehouse issuer … listening on host:port"}. */
const START_LINE = /Gatehouse issuer (\S+) listening on ([^\s"]+):(\d+)/;

// --- Processes --------------------------------------------------------------------------------------------------

/** process.env without any Gatehouse setting of the shell, plus the demo's own. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!/^(PORT|HOST|DATABASE_URL|GATEHOUSE_.*)$/.test(name)) env[name] = value;
  return { ...env, ...extra };
}

interface IssuerProcess {
  issuer: string;
  url: string;
  logs: string[];
  stop(): Promise<number | null>;
}

function startIssuer(env: NodeJS.ProcessEnv): Promise<IssuerProcess> {
  const child: ChildProcess = spawn(process.execPath, [MAIN_JS], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('the issuer did not start within 15 s')), 15_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}\n${logs.join('\n')}`));
    };
    const exitedEarly = (code: number | null) => fail(new Error(`the issuer exited with ${code} before it listened`));
    child.once('exit', exitedEarly);
    let partial = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      logs.push(...lines);
      for (const line of lines) {
        const match = START_LINE.exec(line);
        if (!match) continue;
        clearTimeout(timer);
        child.off('exit', exitedEarly);
        resolve({
          issuer: match[1]!,
          url: `http://${match[2]}:${match[3]}`,
          logs,
          async stop() {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
  });
}

function gatehouse(env: NodeJS.ProcessEnv, args: string[], input = ''): Promise<any> {
  const child = spawn(process.execPath, [CLI_JS, ...args, '--json'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code === 0) resolve(JSON.parse(stdout));
      else reject(new Error(`gatehouse ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
    });
  });
}

// --- What the client and the admin send, as seen on the wire ------------------------------------------------------

/** One request and its answer, in a form the steps compare: `GET /notes → 401 invalid_token "The access token expired"`. */
const exchanges: string[] = [];

function challengeSummary(header: string): string {
  const error = /error="([^"]*)"/.exec(header)?.[1];
  const description = /error_description="([^"]*)"/.exec(header)?.[1];
  const scope = /scope="([^"]*)"/.exec(header)?.[1];
  return [error, scope && `scope="${scope}"`, description && `"${description}"`].filter(Boolean).join(' ');
}

/** A fetch that records every exchange: the client and the admin calls go through it. */
const tracingFetch: typeof fetch = async (input, init) => {
  const request = new Request(input, init);
  const path = new URL(request.url).pathname;
  const grant = request.method === 'POST' && path.endsWith('/token') ? new URLSearchParams(await request.clone().text()).get('grant_type') : null;
  const response = await fetch(request);
  let outcome = String(response.status);
  const challenge = response.headers.get('www-authenticate');
  if (challenge !== null) outcome += ` ${challengeSummary(challenge)}`;
  else if (response.status >= 400 && response.headers.get('content-type')?.startsWith('application/json')) {
    const body = (await response.clone().json()) as { error?: string };
    if (body.error && response.status !== 503) outcome += ` ${body.error}`;
  }
  if (response.headers.get('retry-after') !== null) outcome += ` (Retry-After: ${response.headers.get('retry-after')})`;
  const line = `${request.method} ${path}${grant ? ` grant_type=${grant}` : ''} → ${outcome.trim()}`;
  exchanges.push(line);
  return response;
};

// --- The story ----------------------------------------------------------------------------------------------------

let failures = 0;
let stepNumber = 0;

/** Runs `action`, then compares what went over the wire (and the error it ended with, if any) with `expected`. */
async function step(title: string, expected: string[], action: () => Promise<unknown>): Promise<void> {
  stepNumber += 1;
  console.log(`\n${String(stepNumber).padStart(2)}. ${title}`);
  const before = exchanges.length;
  let outcome: string[] = [];
  try {
    await action();
  } catch (error) {
    outcome = [`throws ${error instanceof Error ? error.name : String(error)}`];
  }
  const actual = [...exchanges.slice(before), ...outcome];
  for (let i = 0; i < Math.max(actual.length, expected.length); i++) {
    const got = actual[i];
    const want = expected[i];
    if (got === want) {
      console.log(`      ✓ ${got}`);
    } else {
      failures += 1;
      console.log(`      ✗ ${got ?? '(nothing)'}\n          expected: ${want ?? '(nothing)'}`);
    }
  }
}

async function call(client: GatehouseClient, api: ExampleApi, method: 'GET' | 'POST', body?: unknown): Promise<Response> {
  const response = await client.fetch(`${api.url}/notes`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  await response.arrayBuffer();
  return response;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const startedMs = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-demo-'));
  const env = childEnv({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: `sqlite:${join(dir, 'gatehouse.sqlite')}`,
    GATEHOUSE_KEYS_DIR: join(dir, 'keys'),
    GATEHOUSE_ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL_SECONDS),
  });
  let issuer: IssuerProcess | undefined;
  let api: ExampleApi | undefined;
  try {
    issuer = await startIssuer(env);
    const web = await gatehouse(env, ['clients', 'create', '--public', '--id', 'notes-web', '--grants', 'password,refresh_token', '--scopes', 'notes:read notes:write', '--audience', API_AUDIENCE, '--origin', 'http://localhost:5173']);
    const notesApi = await gatehouse(env, ['clients', 'create', '--id', 'notes-api', '--audience', API_AUDIENCE, '--introspect']);
    const backoffice = await gatehouse(env, ['clients', 'create', '--id', 'backoffice', '--grants', 'client_credentials', '--scopes', 'gatehouse:admin']);
    await gatehouse(env, ['users', 'create', '--username', ALICE.username, '--password-stdin'], `${ALICE.password}\n`);
    api = await startExampleApi({
      issuer: issuer.issuer,
      clientId: notesApi.client_id,
      clientSecret: notesApi.client_secret,
      audience: API_AUDIENCE,
      log: createLogger((line) => console.log(`        (notes API log) ${line.replace(/^\S+ /, '')}`)),
    });
    console.log(`Gatehouse demo
  issuer     ${issuer.issuer} (node dist/main.js, access tokens live ${ACCESS_TOKEN_TTL_SECONDS} s)
  notes API  ${api.url} (scripts/example-api.ts: GET /notes needs notes:read, POST /notes notes:write)
  clients    ${web.client_id} (public: a browser app), ${notesApi.client_id} (the API, introspects), ${backoffice.client_id} (admin)
  user       ${ALICE.username}`);

    const tokenEndpoint = `${issuer.issuer}/token`;
    const client = createGatehouseClient({ tokenEndpoint, clientId: web.client_id, apiOrigins: [api.url], fetch: tracingFetch });
    const notesApiUrl = api;

    await step('alice logs in', ['POST /token grant_type=password → 200'], () => client.login(ALICE.username, ALICE.password));
    await step('she reads her notes', ['GET /notes → 200'], () => call(client, notesApiUrl, 'GET'));
    await step('she writes a note', ['POST /notes → 201'], () => call(client, notesApiUrl, 'POST', { text: 'buy milk' }));

    const expiresAtMs = client.tokens?.expiresAtMs ?? Date.now();
    await step(`her access token expires (waiting ${((expiresAtMs + 250 - Date.now()) / 1000).toFixed(1)} s of real time)`, [], () => sleep(Math.max(0, expiresAtMs + 250 - Date.now())));
    await step(
      'she reads her notes: the API refuses the expired token, the client renews once and retries',
      ['GET /notes → 401 invalid_token "The access token expired"', 'POST /token grant_type=refresh_token → 200', 'GET /notes → 200'],
      () => call(client, notesApiUrl, 'GET'),
    );
    await step('she reads her notes again', ['GET /notes → 200'], () => call(client, notesApiUrl, 'GET'));

    await step("an administrator ends alice's sessions through the admin API", ['POST /token grant_type=client_credentials → 200', 'DELETE /admin/users/alice/sessions → 204'], async () => {
      const token = await tracingFetch(tokenEndpoint, {
        method: 'POST',
        headers: { authorization: `Basic ${btoa(`${backoffice.client_id}:${backoffice.client_secret}`)}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      const { access_token: adminToken } = (await token.json()) as { access_token: string };
      await tracingFetch(`${issuer!.issuer}/admin/users/${ALICE.username}/sessions`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } });
    });
    await step(
      'she reads her notes: the API refuses the token, the renewal is refused, the client says the session ended',
      ['GET /notes → 401 invalid_token', 'POST /token grant_type=refresh_token → 400 invalid_grant', `throws ${SessionEndedError.name}`],
      () => call(client, notesApiUrl, 'GET'),
    );
    await step('so the app shows the login again, and she logs in', ['POST /token grant_type=password → 200'], () => client.login(ALICE.username, ALICE.password));
    await step('she reads her notes', ['GET /notes → 200'], () => call(client, notesApiUrl, 'GET'));

    const reader = createGatehouseClient({ tokenEndpoint, clientId: web.client_id, apiOrigins: [api.url], fetch: tracingFetch });
    await step(
      'a login with the scope notes:read only tries to write',
      ['POST /token grant_type=password → 200', 'POST /notes → 403 insufficient_scope scope="notes:write"'],
      async () => {
        await reader.login(ALICE.username, ALICE.password, { scope: 'notes:read' });
        await call(reader, notesApiUrl, 'POST', { text: 'not allowed' });
      },
    );

    const exitCode = await issuer.stop();
    console.log(`\n    (the issuer is stopped: exit ${exitCode})`);
    await step('she reads her notes while the issuer is down: 503, not 401, so she stays logged in', ['GET /notes → 503 (Retry-After: 2)'], () =>
      call(client, notesApiUrl, 'GET'),
    );
  } finally {
    await api?.close();
    await issuer?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const seconds = ((Date.now() - startedMs) / 1000).toFixed(1);
  if (failures > 0) {
    console.log(`\n✗ ${failures} answer(s) differ from the README (${seconds} s)`);
    process.exitCode = 1;
  } else {
    console.log(`\n✓ every answer as the README says (${stepNumber} steps, ${exchanges.length} requests, ${seconds} s)`);
  }
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
