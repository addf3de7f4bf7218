/** An immutable view of the signing keys at one moment: what signs, what verifies, what is published. */
import type { KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import type { SigningKeyRecord } from '../storage/signing-keys.js';

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
  /** The protected header every token of this key carries, encoded once. */
  encodedHeader: string;
}

export interface VerificationKey {
  kid: string;
  alg: string;
  publicKey: KeyObject;
}

/** An immutable view of the keys at one moment. */
export class KeyRing {
  private readonly verifiers: ReadonlyMap<string, VerificationKey>;
  private readonly published: JWK[];

  constructor(
    readonly records: readonly SigningKeyRecord[],
    readonly signing: SigningKey | undefined,
    verifiers: Map<string, VerificationKey>,
  ) {
    this.verifiers = verifiers;
    const order = { next: 0, current: 1, retired: 2, revoked: 3 } as const;
    this.published = records
      .filter((record) => record.state !== 'revoked')
      .sort((a, b) => order[a.state] - order[b.state])
      .map((record) => JSON.parse(record.publicJwk) as JWK);
  }

  /** The key a token names by `kid`, if it may still verify tokens (next, current or retired; never revoked). */
  verifier(kid: string): VerificationKey | undefined {
    return this.verifiers.get(kid);
  }

  /** The public keys to publish, in the order next, current, retired. */
  publicJwks(): JWK[] {
    return this.published;
  }
}
