/**
 * Forged and altered access tokens for the introspection, revocation and admin tests: what an attacker (or a
 * misconfigured neighbour) could present. Only `signWithIssuerKey` reaches into the issuer, because a token with
 * a valid signature but a wrong claim can only be made with the issuer's own key.
 */
import { generateKeyPair, SignJWT } from 'jose';
import { decodeJwt } from './http.js';
import type { Issuer } from './issuer.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The same header and signature over a payload changed by `change`: the signature no longer matches. */
export function tamperPayload(token: string, change: (payload: any) => void): string {
  const [header, , signature] = token.split('.');
  const { payload } = decodeJwt(token);
  change(payload);
  return `${header}.${b64(payload)}.${signature}`;
}

/** The same header and payload with one signature character flipped. */
export function tamperSignature(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const bytes = Buffer.from(signature, 'base64url');
  bytes[0] = bytes[0]! ^ 0xff;
  return `${header}.${payload}.${bytes.toString('base64url')}`;
}

/** RFC 8725 §2.1: the claims of a real token under `alg: none` and an empty signature. */
export function algNone(token: string): string {
  const { header, payload } = decodeJwt(token);
  return `${b64({ ...header, alg: 'none' })}.${b64(payload)}.`;
}

/** The claims of a real token signed with a freshly generated key that the issuer never saw. */
export async function signWithForeignKey(token: string, options: { kid?: string; alg?: 'ES256' | 'RS256' } = {}): Promise<string> {
  const { header, payload } = decodeJwt(token);
  const alg = options.alg ?? 'ES256';
  const { privateKey } = await generateKeyPair(alg);
  return new SignJWT(payload).setProtectedHeader({ alg, kid: options.kid ?? header.kid, typ: 'at+jwt' }).sign(privateKey);
}

/** Claims signed with the issuer's current key, as the issuer would sign them unless `header` changes that. */
export async function signWithIssuerKey(issuer: Issuer, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const key = issuer.keys.signingKey();
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header }).sign(key.privateKey);
}
