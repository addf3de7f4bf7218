/**
 * The optional cache of accepted tokens. An entry lives until min(now + TTL, the token's exp): the TTL bounds how
 * long an ended session can still pass, and no entry ever outlives its token. Keys are SHA-256 hashes, so the
 * cache never holds a bearer string. Refusals are not cached: a refused token stays refused by the issuer anyway.
 */
import { sha256Hex } from '../lib/crypto.js';
import type { VerifiedToken } from './verified-token.js';

interface Entry {
  token: VerifiedToken;
  /** Epoch seconds: the entry is used while now < expiresAt. */
  expiresAt: number;
}

export class VerifiedTokenCache {
  /** Map order is insertion order: the first key is the least recently used. */
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlSeconds: number,
    private readonly maxEntries: number,
  ) {}

  get(bearer: string, now: number): VerifiedToken | undefined {
    const key = sha256Hex(bearer);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (now >= entry.expiresAt) return undefined;
    this.entries.set(key, entry);
    return entry.token;
  }

  set(bearer: string, token: VerifiedToken, now: number): void {
    const expiresAt = Math.min(now + this.ttlSeconds, token.expiresAt ?? Number.POSITIVE_INFINITY);
    if (now >= expiresAt) return;
    const key = sha256Hex(bearer);
    this.entries.delete(key);
    this.entries.set(key, { token, expiresAt });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }
}
