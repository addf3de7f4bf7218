/**
 * A bounded cache of access tokens whose signature and format have been checked: a token seen before skips the
 * signature math. It holds only what cannot change — the claims a signature covers — keyed by the whole token,
 * never by the signature alone (a forged payload could reuse a real signature). Everything that can change is
 * checked again on every hit: the key must still be in the ring, the token's own times are compared with `now`,
 * and session, user and client state come from the database as always.
 */
import type { AccessTokenClaims } from './access-token.js';

export interface VerifiedToken {
  kid: string;
  claims: AccessTokenClaims;
}

export class VerifiedTokenCache {
  private readonly entries = new Map<string, VerifiedToken>();

  constructor(private readonly capacity = 20_000) {}

  get(token: string): VerifiedToken | undefined {
    return this.entries.get(token);
  }

  set(token: string, verified: VerifiedToken): void {
    if (this.entries.size >= this.capacity) {
      // Oldest first: Map keeps insertion order.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(token, verified);
  }

  get size(): number {
    return this.entries.size;
  }
}
