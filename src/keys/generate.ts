import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { SigningAlg } from '../config.js';

const generate = promisify(generateKeyPair);

export interface GeneratedKey {
  /** The RFC 7638 thumbprint of the public key: unique, and stable for the key's lifetime. */
  kid: string;
  alg: SigningAlg;
  /** Public members only, with kid, alg and use, as published in the JWKS. */
  publicJwk: JWK;
  /** PKCS#8 DER: encrypt before storing. */
  privatePkcs8: Buffer;
}

function keyPair(alg: SigningAlg): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  switch (alg) {
    case 'ES256':
      return generate('ec', { namedCurve: 'P-256' });
    case 'RS256':
    case 'PS256':
      // RFC 7518 §3.3 requires 2048 bits at least; 3072 matches NIST's 128-bit security level.
      return generate('rsa', { modulusLength: 3072 });
    case 'EdDSA':
      return generate('ed25519');
  }
}

export async function generateSigningKey(alg: SigningAlg): Promise<GeneratedKey> {
  const { publicKey, privateKey } = await keyPair(alg);
  const jwk = publicKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return {
    kid,
    alg,
    publicJwk: { ...jwk, kid, alg, use: 'sig' },
    privatePkcs8: privateKey.export({ format: 'der', type: 'pkcs8' }),
  };
}
