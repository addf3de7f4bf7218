/**
 * Compact JWS (RFC 7515 §7.1) signing and signature checks with node:crypto and keys imported once. jose's
 * WebCrypto path costs about twice as much per call, and introspection checks a signature on every request
 * that the cache has not seen; jose stays for what it is best at (JWK import, thumbprints, JWKS consumers).
 */
import { constants, sign, verify, type KeyObject } from 'node:crypto';

type Alg = 'ES256' | 'RS256' | 'PS256' | 'EdDSA';

function keyOptions(alg: string, key: KeyObject) {
  switch (alg) {
    case 'ES256':
      // JWS carries the raw r||s form (RFC 7518 §3.4), not DER.
      return { digest: 'sha256', key: { key, dsaEncoding: 'ieee-p1363' as const } };
    case 'RS256':
      return { digest: 'sha256', key: { key, padding: constants.RSA_PKCS1_PADDING } };
    case 'PS256':
      return { digest: 'sha256', key: { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } };
    case 'EdDSA':
      return { digest: null, key: { key } };
    default:
      return undefined;
  }
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The encoded protected header of a key, made once per key rather than per token. */
export function encodeHeader(header: { alg: string; kid: string; typ: string }): string {
  return encode(header);
}

export function signCompact(alg: Alg | string, key: KeyObject, encodedHeader: string, payload: unknown): string {
  const options = keyOptions(alg, key);
  if (!options) throw new TypeError(`unsupported signing algorithm ${alg}`);
  const input = `${encodedHeader}.${encode(payload)}`;
  return `${input}.${sign(options.digest, Buffer.from(input), options.key).toString('base64url')}`;
}

/**
 * signCompact with the signature computed on libuv's thread pool (node:crypto's callback form): the event loop
 * goes on serving other requests meanwhile, and a second core can sign. For the hot paths (token issuance).
 */
export function signCompactAsync(alg: Alg | string, key: KeyObject, encodedHeader: string, payload: unknown): Promise<string> {
  const options = keyOptions(alg, key);
  if (!options) return Promise.reject(new TypeError(`unsupported signing algorithm ${alg}`));
  const input = `${encodedHeader}.${encode(payload)}`;
  return new Promise((resolve, reject) => {
    sign(options.digest, Buffer.from(input), options.key, (error, signature) => (error ? reject(error) : resolve(`${input}.${signature.toString('base64url')}`)));
  });
}

/** The signature's bytes when its form can be a signature for `alg`; undefined for anything else. */
function signatureBytes(alg: string, signature: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(signature)) return undefined;
  const bytes = Buffer.from(signature, 'base64url');
  // Only the canonical spelling (RFC 7515 §2: base64url without padding, and no stray bits in the last character).
  // Otherwise each token would have several spellings that verify (16 for ES256), each a different string to
  // every cache and deny-list keyed on the token.
  if (bytes.toString('base64url') !== signature) return undefined;
  // An ES256 signature is exactly 64 bytes (RFC 7518 §3.4); anything else is refused before the math.
  if (alg === 'ES256' && bytes.length !== 64) return undefined;
  return bytes;
}

/** True when `signature` is a valid signature of `input` under `key` with `alg`; false for anything else. */
export function verifySignature(alg: string, key: KeyObject, input: string, signature: string): boolean {
  const options = keyOptions(alg, key);
  const bytes = options && signatureBytes(alg, signature);
  if (!options || !bytes) return false;
  try {
    return verify(options.digest, Buffer.from(input), options.key, bytes);
  } catch {
    return false;
  }
}

/** verifySignature on libuv's thread pool (node:crypto's callback form), for the introspection of fresh tokens. */
export function verifySignatureAsync(alg: string, key: KeyObject, input: string, signature: string): Promise<boolean> {
  const options = keyOptions(alg, key);
  const bytes = options && signatureBytes(alg, signature);
  if (!options || !bytes) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      verify(options.digest, Buffer.from(input), options.key, bytes, (error, valid) => resolve(!error && valid));
    } catch {
      resolve(false);
    }
  });
}
