/** PKCE (RFC 7636) and `state` with WebCrypto, which browsers and Node 20+ both have. */

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** 256 random bits as base64url (43 characters): a code verifier (RFC 7636 §4.1) or a state value. */
export function randomValue(): string {
  return base64url(globalThis.crypto.getRandomValues(new Uint8Array(32)));
}

/** RFC 7636 §4.2, S256: BASE64URL(SHA256(ASCII(code_verifier))). */
export async function s256Challenge(verifier: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}
