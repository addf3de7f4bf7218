/**
 * The cache of event mode: an accepted token is kept until its own `exp` and leaves early only when an event says
 * so, by session, user, client, token id or signing key. Keys are SHA-256 hashes: the cache never holds a bearer
 * string. Eviction looks at every entry; events are rare next to requests, and 10 000 entries take well under a
 * millisecond.
 */
import { sha256Hex } from '../lib/crypto.js';
import type { VerifiedToken } from './verified-token.js';

interface Entry {
  token: VerifiedToken;
  /** The `kid` of the token's JWS header: a key-revoked event names it. */
  kid: string | undefined;
  /** Epoch seconds: the token's exp. */
  expiresAt: number;
}

/** What an event ends: every entry matching one of these goes. */
export type Eviction =
  | { kind: 'session'; sessionId: string }
  | { kind: 'user'; subject: string; clientId?: string }
  | { kind: 'client'; clientId: string }
  | { kind: 'token'; tokenId: string }
  | { kind: 'key'; kid: string }
  /** An event this middleware does not understand: nothing cached can be trusted to be unaffected. */
  | { kind: 'all' };

export function matches(entry: Pick<Entry, 'token' | 'kid'>, eviction: Eviction): boolean {
  const token = entry.token;
  switch (eviction.kind) {
    case 'session':
      return token.sessionId === eviction.sessionId;
    case 'user':
      return token.subject === eviction.subject && (eviction.clientId === undefined || token.clientId === eviction.clientId);
    case 'client':
      // A client_credentials token's subject is the client itself.
      return token.clientId === eviction.clientId || (token.sessionId === undefined && token.subject === eviction.clientId);
    case 'token':
      return token.tokenId === eviction.tokenId;
    case 'key':
      return entry.kid === eviction.kid;
    case 'all':
      return true;
  }
}

export class EventTokenCache {
  /** Map order is insertion order: the first key is the least recently used. */
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries: number) {}

  get(bearer: string, now: number): VerifiedToken | undefined {
    const key = sha256Hex(bearer);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (now >= entry.expiresAt) return undefined;
    this.entries.set(key, entry);
    return entry.token;
  }

  /** Only tokens with an `exp` are kept: one without would stay for ever. */
  set(bearer: string, token: VerifiedToken, kid: string | undefined, now: number): void {
    if (token.expiresAt === undefined || now >= token.expiresAt) return;
    const key = sha256Hex(bearer);
    this.entries.delete(key);
    this.entries.set(key, { token, kid, expiresAt: token.expiresAt });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Removes what the evictions name; returns how many entries went. */
  evict(evictions: readonly Eviction[]): number {
    if (evictions.length === 0) return 0;
    let removed = 0;
    for (const [key, entry] of this.entries) {
      if (evictions.some((eviction) => matches(entry, eviction))) {
        this.entries.delete(key);
        removed++;
      }
    }
    return removed;
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
