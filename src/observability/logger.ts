/**
 * The issuer's log: one JSON object per line on stderr (pino), at GATEHOUSE_LOG_LEVEL. A line written while a
 * request is served carries its `req_id`. When a person runs the server in a terminal the lines are rendered for
 * reading (pino-pretty, when installed: it is a development dependency). Callers pass identifiers (client ids,
 * sids, kids), never secrets, tokens or passwords.
 */
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Level } from 'pino';
import type { Logger, LogFields } from '../lib/log.js';
import { currentRequest } from './request-scope.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface IssuerLogger extends Logger {
  debug(message: string, fields?: LogFields): void;
  /** The one summary line of a request, at info. */
  request(fields: LogFields): void;
}

export interface IssuerLoggerOptions {
  level?: LogLevel;
  /** Where lines go (tests collect them); default stderr, rendered for reading when stderr is a terminal. */
  write?: (line: string) => void;
}

/** pino-pretty when stderr is a terminal and the package is there; otherwise undefined (JSON lines). */
function prettyStream(): DestinationStream | undefined {
  if (!process.stderr.isTTY || process.env.NO_COLOR !== undefined) return undefined;
  try {
    const pretty = createRequire(import.meta.url)('pino-pretty') as (options: object) => DestinationStream;
    return pretty({ destination: 2, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  } catch {
    return undefined; // installed without development dependencies: JSON lines
  }
}

export function createIssuerLogger(options: IssuerLoggerOptions = {}): IssuerLogger {
  const destination: DestinationStream = options.write
    ? { write: (line: string) => options.write!(line.endsWith('\n') ? line.slice(0, -1) : line) }
    : (prettyStream() ?? pino.destination({ dest: 2, sync: false }));
  const base = pino(
    {
      level: options.level ?? 'info',
      base: undefined, // no pid and hostname on every line: the process manager knows them
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: () => {
        const scope = currentRequest();
        return scope ? { req_id: scope.id } : {};
      },
    },
    destination,
  );
  const at = (level: Level) => (message: string, fields?: LogFields) => {
    if (fields === undefined) base[level](message);
    else base[level](withoutUndefined(fields), message);
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    request: (fields) => {
      if (base.isLevelEnabled('info')) base.info(withoutUndefined(fields), 'request');
    },
  };
}

function withoutUndefined(fields: LogFields): Record<string, string | number | boolean> {
  const kept: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) kept[key] = value;
  return kept;
}
