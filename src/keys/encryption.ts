/**
 * Private keys at rest: AES-256-GCM under a key derived (HKDF-SHA256) from one of GATEHOUSE_KEY_SECRETS.
 * The first secret encrypts; any listed secret decrypts, so a secret is rotated by putting a new one first and
 * running `gatehouse keys reencrypt`. The envelope names its secret by a fingerprint (a hash, not the secret),
 * and the key id is bound in as associated data, so an envelope cannot be moved onto another key's row.
 *
 *   v1.<secret fingerprint>.<iv>.<tag>.<ciphertext>      (base64url parts)
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

export class KeySecretError extends Error {
  override readonly name = 'KeySecretError';
}

interface Secret {
  fingerprint: string;
  key: Buffer;
}

function deriveSecret(secret: string): Secret {
  return {
    fingerprint: createHash('sha256').update(`gatehouse key secret id\0${secret}`).digest('base64url').slice(0, 16),
    key: Buffer.from(hkdfSync('sha256', secret, 'gatehouse', 'gatehouse private key encryption v1', 32)),
  };
}

export class KeyEncryption {
  private readonly secrets: Secret[];

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new KeySecretError('no key encryption secret configured');
    this.secrets = secrets.map(deriveSecret);
  }

  encrypt(kid: string, plaintext: Buffer): string {
    const secret = this.secrets[0]!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', secret.key, iv);
    cipher.setAAD(Buffer.from(kid, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return ['v1', secret.fingerprint, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
  }

  /** Throws KeySecretError when no configured secret opens the envelope. */
  decrypt(kid: string, envelope: string): Buffer {
    const [version, fingerprint, iv, tag, ciphertext] = envelope.split('.');
    if (version !== 'v1' || !fingerprint || !iv || !tag || ciphertext === undefined) {
      throw new KeySecretError(`signing key ${kid} has an unreadable envelope`);
    }
    const secret = this.secrets.find((candidate) => candidate.fingerprint === fingerprint);
    if (!secret) {
      throw new KeySecretError(`signing key ${kid} is encrypted under a secret that GATEHOUSE_KEY_SECRETS does not list`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', secret.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(kid, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
    } catch {
      throw new KeySecretError(`signing key ${kid} failed its integrity check: the row was altered`);
    }
  }

  /** True when the envelope is sealed under the first secret, the one new envelopes use. */
  isCurrent(envelope: string): boolean {
    return envelope.split('.')[1] === this.secrets[0]!.fingerprint;
  }
}
