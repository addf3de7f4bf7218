/**
 * Refresh tokens are opaque: 256 random bits, base64url. Only their SHA-256 is stored, so a copy of the
 * database does not hand out usable tokens.
 */
import { randomToken, sha256Hex } from '../lib/crypto.js';

export function newRefreshToken(): { token: string; hash: string } {
  const token = randomToken(32);
  return { token, hash: sha256Hex(token) };
}

export const hashRefreshToken = sha256Hex;
