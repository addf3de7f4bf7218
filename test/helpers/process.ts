/**
 * The real programs, spawned: the `gatehouse` bin (dist/cli/main.js) and the server (dist/main.js), each with
 * its own environment and working folder, as a user runs them. Built by `npm run build` (npm test's pretest).
 *
 * Every spawned child and temp folder is remembered; call `cleanup()` in `test.after.always` so that a failed
 * test never leaves a server running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshDatabase, onPostgres, type TestDatabase } from './database.js';
import { postForm, type Reply } from './http.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI_JS = join(ROOT, 'dist', 'cli', 'main.js');
export const MAIN_JS = join(ROOT, 'dist', 'main.js');

/** Cheap Argon2: the parameters change the cost, not the code path. */
export const FAST_ARGON2 = { GATEHOUSE_ARGON2_MEMORY_KIB: '64', GATEHOUSE_ARGON2_ITERATIONS: '1' } as const;

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
const databases = new Set<TestDatabase>();

/** Variables the programs read: never inherited from the shell that runs the tests, only set by a test. */
const CONFIG_VARIABLE = /^(PORT|HOST|DATABASE_URL|GATEHOUSE_.*)$/;

/** process.env without any Gatehouse configuration, plus `env`. */
export function childEnv(env: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!CONFIG_VARIABLE.test(name)) base[name] = value;
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete base[name];
    else base[name] = value;
  }
  return base;
}

export function makeTempDir(prefix = 'gatehouse-proc-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

export interface Sandbox {
  dir: string;
  /** DATABASE_URL (sqlite:<dir>/g.sqlite, or a fresh PostgreSQL schema), GATEHOUSE_KEYS_DIR=<dir>/keys and cheap Argon2, plus `extra`. */
  env: Record<string, string>;
  cli(args: string[], options?: { input?: string; env?: Record<string, string> }): Promise<CliResult>;
  /** `cli` that must exit 0 with --json appended; returns the parsed stdout. */
  cliJson(args: string[], options?: { input?: string; env?: Record<string, string> }): Promise<any>;
  start(options?: { env?: Record<string, string> }): Promise<ServerProcess>;
}

/** A fresh temp folder with the environment every process test uses. */
export async function sandbox(extra: Record<string, string> = {}): Promise<Sandbox> {
  const dir = makeTempDir();
  const database = await freshDatabase(dir);
  databases.add(database);
  const env: Record<string, string> = {
    DATABASE_URL: onPostgres ? database.url : `sqlite:${join(dir, 'g.sqlite')}`,
    GATEHOUSE_KEYS_DIR: join(dir, 'keys'),
    ...FAST_ARGON2,
    ...extra,
  };
  const box: Sandbox = {
    dir,
    env,
    cli: (args, options = {}) => runCli(args, { env: { ...env, ...options.env }, cwd: dir, input: options.input }),
    async cliJson(args, options = {}) {
      const result = await box.cli([...args, '--json'], options);
      if (result.code !== 0) throw new Error(`gatehouse ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
      return JSON.parse(result.stdout);
    },
    start: (options = {}) => startServerProcess({ env: { ...env, ...options.env }, cwd: dir }),
  };
  return box;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Written to stdin, which is then closed. Without it stdin is closed at once (empty). */
  input?: string | undefined;
  timeoutMs?: number;
}

/** Runs a node script to completion (killed after timeoutMs, then code is null). */
export function runNode(script: string, args: string[], options: RunOptions = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: options.cwd ?? ROOT,
    env: childEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin!.on('error', () => {}); // the program may exit before reading stdin
  child.stdin!.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** `gatehouse …args`, the bin, spawned with `process.execPath`. */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return runNode(CLI_JS, args, options);
}

export interface ServerProcess {
  /** http://127.0.0.1:<port>, to send requests to. */
  url: string;
  /** The issuer URL from the start line. */
  issuer: string;
  host: string;
  port: number;
  /** Every stderr line so far (the log). */
  logs: string[];
  stdout: () => string;
  child: ChildProcess;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits for a log line matching `pattern` (bounded). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends `signal` and resolves with the exit code; after timeoutMs the process is killed and null returned. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

export const START_LINE = /Gatehouse issuer (\S+) listening on ([^\s"]+):(\d+)/;

/**
 * Spawns `node dist/main.js` with PORT=0 (unless env sets PORT) and waits for its start line, then (unless
 * `settle: false`) for one answer to a request that reads the database.
 *
 * Why the extra request: a cheap proof that the server answers requests that need its database before a test
 * goes on. (It once also covered signal handlers installed after the start line; main.ts now installs them
 * first, which main.test.ts checks by signalling on the start line itself with `signalOnStart`.)
 */
export function startServerProcess(
  options: {
    env?: Record<string, string | undefined>;
    cwd?: string;
    timeoutMs?: number;
    settle?: boolean;
    /** Sent from the stderr handler the moment the start line arrives, before anything else runs here. */
    signalOnStart?: NodeJS.Signals;
  } = {},
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN_JS], {
    cwd: options.cwd ?? ROOT,
    env: childEnv({ PORT: '0', ...options.env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const logs: string[] = [];
  let stdout = '';
  let partial = '';
  const waiters = new Set<() => void>();
  let signalled = false;
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    logs.push(...lines);
    if (options.signalOnStart && !signalled && lines.some((line) => START_LINE.test(line))) {
      signalled = true;
      child.kill(options.signalOnStart);
    }
    for (const waiter of waiters) waiter();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (partial !== '') logs.push(partial), (partial = '');
      resolve({ code, signal });
      for (const waiter of waiters) waiter();
    });
  });
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const waitForLog = (pattern: RegExp, timeoutMs = 10_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const line = logs.find((candidate) => pattern.test(candidate));
        if (line !== undefined) return done(() => resolve(line));
        if (hasExited || child.exitCode !== null) return done(() => reject(new Error(`server exited before logging ${pattern}:\n${logs.join('\n')}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no log line ${pattern} within ${timeoutMs} ms:\n${logs.join('\n')}`))), timeoutMs);
      const done = (finish: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        finish();
      };
      waiters.add(check);
      check();
    });

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<number | null> => {
    if (!hasExited && child.exitCode === null) child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      exited,
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (result === 'timeout') {
      child.kill('SIGKILL');
      await exited;
      return null;
    }
    return result.code;
  };

  // A generous bound: on a busy machine a start (migrations, keys, workers) can take many seconds.
  return waitForLog(START_LINE, options.timeoutMs ?? 60_000).then(
    async (line) => {
      const [, issuer, host, port] = START_LINE.exec(line)!;
      const url = `http://${host!.includes(':') ? `[${host}]` : host}:${port}`;
      if (options.settle !== false && !options.signalOnStart) {
        // An unknown client: a database read, answered 401.
        const probe = await postForm(`${url}/introspect`, { token: 'x' }, { auth: ['gatehouse-test-probe', 'x'] });
        if (probe.status !== 401) throw new Error(`start probe: expected 401, got ${probe.status} ${probe.text}`);
      }
      return {
        url,
        issuer: issuer!,
        host: host!,
        port: Number(port),
        logs,
        stdout: () => stdout,
        child,
        exited,
        waitForLog,
        stop,
      };
    },
    async (error: unknown) => {
      child.kill('SIGKILL');
      await exited;
      throw error;
    },
  );
}

/** Runs `node dist/main.js` expecting it to stop by itself (a refused start); killed after timeoutMs. */
export async function runServerToExit(options: RunOptions = {}): Promise<CliResult & { timedOut: boolean }> {
  // The deadline of a start that should end by itself: generous, a busy machine starts node slowly.
  const timeoutMs = options.timeoutMs ?? 60_000;
  const started = Date.now();
  const result = await runNode(MAIN_JS, [], { ...options, env: { PORT: '0', ...options.env }, timeoutMs });
  return { ...result, timedOut: result.code === null && Date.now() - started >= timeoutMs };
}

/** Kills every child still running and removes every temp folder. For test.after.always. */
export async function cleanup(): Promise<void> {
  const waits = [...children].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  );
  await Promise.all(waits);
  children.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
  await Promise.all([...databases].map((database) => database.drop()));
  databases.clear();
}

/** Polls `probe` until it returns something other than undefined, or fails after timeoutMs. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Epoch seconds now. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** The resource API every process test's clients use. */
export const API = 'https://api.example.test';

export interface Credentials {
  id: string;
  secret: string;
}

/** The usual cast: a first-party login client, a resource server that may introspect, and alice. */
export async function seed(box: Sandbox): Promise<{ app: Credentials; rs: Credentials }> {
  const app = await box.cliJson(['clients', 'create', '--id', 'app', '--grants', 'password,refresh_token,client_credentials', '--scopes', 'read write', '--audience', API]);
  const rs = await box.cliJson(['clients', 'create', '--id', 'rs', '--audience', API, '--introspect']);
  return { app: { id: app.client_id, secret: app.client_secret }, rs: { id: rs.client_id, secret: rs.client_secret } };
}

/** HTTP as a client sees it, against a spawned server. */
export function client(server: { url: string }) {
  const http = {
    token: (form: Record<string, string>, who: Credentials): Promise<Reply> => postForm(`${server.url}/token`, form, { auth: [who.id, who.secret] }),
    login: (who: Credentials, username: string, password: string): Promise<Reply> =>
      http.token({ grant_type: 'password', username, password }, who),
    refresh: (who: Credentials, refreshToken: string): Promise<Reply> => http.token({ grant_type: 'refresh_token', refresh_token: refreshToken }, who),
    introspect: (caller: Credentials, token: string): Promise<Reply> => postForm(`${server.url}/introspect`, { token }, { auth: [caller.id, caller.secret] }),
    async mustLogin(who: Credentials, username: string, password: string): Promise<{ access: string; refresh: string; body: any }> {
      const reply = await http.login(who, username, password);
      if (reply.status !== 200) throw new Error(`login of ${username} failed: ${reply.status} ${reply.text}`);
      return { access: reply.json.access_token, refresh: reply.json.refresh_token, body: reply.json };
    },
  };
  return http;
}

/** Non-empty lines of a stream's text. */
export const lines = (text: string): string[] => text.split('\n').filter((line) => line.trim() !== '');
