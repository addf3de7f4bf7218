/**
 * One line per event on stderr: `2026-11-29T10:00:00.000Z INFO message key=value`.
 * Callers pass identifiers (client ids, sids, kids), never secrets, tokens or passwords.
 */
export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export function createLogger(write: (line: string) => void = (line) => process.stderr.write(line + '\n')): Logger {
  const emit = (level: string, message: string, fields?: LogFields): void => {
    let line = `${new Date().toISOString()} ${level} ${message}`;
    if (fields) {
      for (const [key, value] of Object.entries(fields)) {
        if (value !== undefined) line += ` ${key}=${JSON.stringify(value)}`;
      }
    }
    write(line);
  };
  return {
    info: (message, fields) => emit('INFO', message, fields),
    warn: (message, fields) => emit('WARN', message, fields),
    error: (message, fields) => emit('ERROR', message, fields),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/**
 * The error's class, code, message and first stack frame. knex prefixes a driver's message with the SQL and its
 * bound values ("insert into … - UNIQUE constraint failed"): that part is cut, so no bound value reaches a log.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const code = (error as { code?: unknown }).code;
  let message = error.message;
  if (/^\s*(select|insert|update|delete|with|create|alter|drop|pragma|begin|commit)\b/i.test(message)) {
    const cut = message.lastIndexOf(' - ');
    message = cut === -1 ? '(query failed)' : message.slice(cut + 3);
  }
  const frame = error.stack?.split('\n')[1]?.trim();
  return `${error.name}${code ? ` ${String(code)}` : ''}: ${message}${frame ? ` (${frame})` : ''}`;
}
