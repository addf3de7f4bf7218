/**
 * Signing Security Event Tokens with the issuer's current key (RFC 8417 §2.3: explicit typing with
 * `typ: secevent+jwt`; SSF 1.0 §4.1.1). The verifying keys are the ones the JWKS publishes.
 */
import type { SigningKey } from '../keys/key-ring.js';
import { encodeHeader, signCompact } from '../tokens/jws.js';

const headers = new WeakMap<SigningKey, string>();

export function signSet(key: SigningKey, claims: Record<string, unknown>): string {
  let header = headers.get(key);
  if (header === undefined) headers.set(key, (header = encodeHeader({ alg: key.alg, kid: key.kid, typ: 'secevent+jwt' })));
  return signCompact(key.alg, key.privateKey, header, claims);
}
