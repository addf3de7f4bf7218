/**
 * Secrets at rest: AES-256-GCM under a key derived (HKDF-SHA256) from one of GATEHOUSE_KEY_SECRETS and the
 * purpose of what is sealed (a signing key's private key; a push receiver's Authorization header), so an envelope
 * of one purpose never opens as another. The first secret encrypts; any listed secret decrypts, so a secret is
 * rotated by putting a new one first and running `gatehouse keys reencrypt`. The envelope names its secret by a
 * fingerprint (a hash, not the secret), and the row's id (kid, stream id) is bound in as associated data, so an
 * envelope cannot be moved onto another row.
 *
 *   v1.<secret fingerprint>.<iv>.<tag>.<ciphertext>      (base64url parts)
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

export class KeySecretError extends Error {
  override readonly name = 'KeySecretError';
}

/** What an envelope holds: its HKDF info (never change one in use) and how errors name the row. */
export interface SealPurpose {
  readonly info: string;
  readonly describe: (id: string) => string;
}

export const PRIVATE_KEY: SealPurpose = { info: 'gatehouse private key encryption v1', describe: (kid) => `signing key ${kid}` };
export const PUSH_AUTHORIZATION: SealPurpose = { info: 'gatehouse push authorization encryption v1', describe: (id) => `the push authorization_header of stream ${id}` };

interface Secret {
  fingerprint: string;
  value: string;
  keys: Map<string, Buffer>;
}

function secretOf(value: string): Secret {
  return { fingerprint: createHash('sha256').update(`gatehouse key secret id\0${value}`).digest('base64url').slice(0, 16), value, keys: new Map() };
}

function keyFor(secret: Secret, purpose: SealPurpose): Buffer {
  let key = secret.keys.get(purpose.info);
  if (!key) {
    key = Buffer.from(hkdfSync('sha256', secret.value, 'gatehouse', purpose.info, 32));
    secret.keys.set(purpose.info, key);
  }
  return key;
}

export class KeyEncryption {
  private readonly secrets: Secret[];

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new KeySecretError('no key encryption secret configured');
    this.secrets = secrets.map(secretOf);
  }

  /** A private key (PKCS#8 DER) of signing key `kid`. */
  encrypt(kid: string, plaintext: Buffer): string {
    return this.seal(PRIVATE_KEY, kid, plaintext);
  }

  /** Throws KeySecretError when no configured secret opens the envelope. */
  decrypt(kid: string, envelope: string): Buffer {
    return this.open(PRIVATE_KEY, kid, envelope);
  }

  seal(purpose: SealPurpose, id: string, plaintext: Buffer): string {
    const secret = this.secrets[0]!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', keyFor(secret, purpose), iv);
    cipher.setAAD(Buffer.from(id, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return ['v1', secret.fingerprint, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
  }

  /** Throws KeySecretError when no configured secret opens the envelope, or it was altered or moved. */
  open(purpose: SealPurpose, id: string, envelope: string): Buffer {
    const what = purpose.describe(id);
    const [version, fingerprint, iv, tag, ciphertext] = envelope.split('.');
    if (version !== 'v1' || !fingerprint || !iv || !tag || ciphertext === undefined) {
      throw new KeySecretError(`${what} has an unreadable envelope`);
    }
    const secret = this.secrets.find((candidate) => candidate.fingerprint === fingerprint);
    if (!secret) {
      throw new KeySecretError(`${what} is encrypted under a secret that GATEHOUSE_KEY_SECRETS does not list`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', keyFor(secret, purpose), Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(id, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
    } catch {
      throw new KeySecretError(`${what} failed its integrity check: the row was altered`);
    }
  }

  /** True when the envelope is sealed under the first secret, the one new envelopes use. */
  isCurrent(envelope: string): boolean {
    return envelope.split('.')[1] === this.secrets[0]!.fingerprint;
  }
}
