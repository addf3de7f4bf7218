/** What every CLI command shares: option parsing, output, and the errors that choose the exit code. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;
import { InvalidInput } from '../errors.js';

/** Bad usage: exit 2. */
export class UsageError extends InvalidInput {}

export interface Output {
  json: boolean;
  /** One JSON value on stdout with --json; otherwise the human-readable lines. */
  result(value: unknown, human: () => string): void;
}

export function createOutput(json: boolean, write: (text: string) => void = (text) => process.stdout.write(text)): Output {
  return {
    json,
    result(value, human) {
      write(json ? JSON.stringify(value) + '\n' : human() + '\n');
    },
  };
}

type OptionValue<O> = O extends { type: 'string' } ? string : boolean;
type Values<T extends ParseArgsOptionsConfig> = {
  [K in keyof T]?: T[K] extends { multiple: true } ? Array<OptionValue<T[K]>> : OptionValue<T[K]>;
} & { json?: boolean };

/** Strict option parsing: an unknown option or a missing value is a UsageError. Every command takes --json. */
export function parseOptions<const T extends ParseArgsOptionsConfig>(args: string[], options: T, positionals = 0): { values: Values<T>; positionals: string[] } {
  try {
    const parsed = parseArgs({ args, options: { ...options, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
    if (parsed.positionals.length > positionals) throw new UsageError(`unexpected argument ${parsed.positionals[positionals]}`);
    return { values: parsed.values as Values<T>, positionals: parsed.positionals };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message.split('\n')[0]!);
  }
}

export function requireOption<T>(value: T | undefined, name: string): T {
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

export function isoTime(epochSeconds: number | null): string {
  return epochSeconds === null ? '-' : new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** Reads a password or secret from stdin, dropping one trailing newline (so `echo pw |` works). */
export async function readStdinSecret(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** --password P or --password-stdin, exactly one. */
export async function passwordOption(values: { password?: string | undefined; 'password-stdin'?: boolean | undefined }): Promise<string> {
  if ((values.password !== undefined) === Boolean(values['password-stdin'])) throw new UsageError('give exactly one of --password or --password-stdin');
  return values.password ?? readStdinSecret();
}

/** Left-aligned columns for human output. */
export function table(header: string[], rows: string[][]): string {
  if (rows.length === 0) return '(none)';
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  return [header, ...rows].map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
