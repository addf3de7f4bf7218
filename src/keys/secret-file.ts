/**
 * Where the key-encryption secrets come from: GATEHOUSE_KEY_SECRETS, or for the embedded default a secret
 * generated once into <keys dir>/key-secret (0600). A missing file next to existing keys is an error, never a
 * reason to make a new secret: that would orphan every stored key.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type Config } from '../config.js';
import { randomToken } from '../lib/crypto.js';

export const SECRET_FILE_NAME = 'key-secret';

export function resolveKeySecrets(config: Config, databaseHasKeys: boolean): string[] {
  if (config.keySecrets) return [...config.keySecrets];
  const file = join(config.keysDir, SECRET_FILE_NAME);
  restrictKeysDir(config.keysDir);
  const existing = readSecretFile(file);
  if (existing !== undefined) return [existing];
  if (databaseHasKeys) {
    throw new ConfigError('GATEHOUSE_KEY_SECRETS', `the database holds signing keys but ${file} is missing; set GATEHOUSE_KEY_SECRETS to the secret that encrypted them`);
  }
  try {
    mkdirSync(config.keysDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, randomToken(32) + '\n', { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // EEXIST: another process created it first (two instances starting together): use theirs.
    const code = (error as { code?: string }).code;
    if (code !== 'EEXIST') throw new ConfigError('GATEHOUSE_KEYS_DIR', `cannot create ${file} (${code ?? 'error'})`);
  }
  return [readSecretFile(file)!];
}

/**
 * The folder of the key secret is its owner's alone (0700), whatever mode it was created or checked out with:
 * mkdir's mode applies only to a folder it creates, and a clone gives keys/ the umask's 0755.
 */
function restrictKeysDir(dir: string): void {
  try {
    chmodSync(dir, 0o700);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'ENOENT') throw new ConfigError('GATEHOUSE_KEYS_DIR', `cannot restrict ${dir} to its owner (${code ?? 'error'})`);
  }
}

function readSecretFile(file: string): string | undefined {
  let content: string;
  try {
    content = readFileSync(file, 'utf8').trim();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') return undefined;
    throw new ConfigError('GATEHOUSE_KEYS_DIR', `cannot read ${file} (${code ?? 'error'})`);
  }
  if (content.length < 32) throw new ConfigError('GATEHOUSE_KEY_SECRETS', `${file} holds a secret shorter than 32 characters`);
  return content;
}
