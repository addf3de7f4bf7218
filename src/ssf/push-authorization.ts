/**
 * The Authorization header a push receiver asks the transmitter to send (SSF 1.0 §8.1.1 authorization_header,
 * RFC 8935 §2) is the receiver's secret. Unlike a client secret it has to be sent again, so it cannot be hashed:
 * it is sealed at rest under the key-encryption secrets (keys/encryption.ts), bound to its stream, and opened only
 * by the push worker, just before a SET goes out. A database dump or a read-only SQL injection shows no header.
 */
import { PUSH_AUTHORIZATION, type KeyEncryption } from '../keys/encryption.js';
import type { StreamStore } from '../storage/streams.js';

export function sealAuthorization(encryption: KeyEncryption, streamId: string, header: string): string {
  return encryption.seal(PUSH_AUTHORIZATION, streamId, Buffer.from(header, 'utf8'));
}

/** Throws KeySecretError when the configured secrets cannot open it. */
export function openAuthorization(encryption: KeyEncryption, streamId: string, sealed: string): string {
  return encryption.open(PUSH_AUTHORIZATION, streamId, sealed).toString('utf8');
}

/**
 * Seals every header still stored in the clear (from before migration 010): run at the issuer's start. With
 * `reseal` (`gatehouse keys reencrypt`) it also re-seals those not under the first key secret, and throws
 * KeySecretError, as the keys do, when one cannot be opened. Returns how many changed.
 */
export function sealStoredAuthorizations(streams: StreamStore, encryption: KeyEncryption, options: { reseal: boolean }): Promise<number> {
  return streams.sealAuthorizations(
    (streamId, header) => sealAuthorization(encryption, streamId, header),
    (streamId, sealed) => (!options.reseal || encryption.isCurrent(sealed) ? undefined : sealAuthorization(encryption, streamId, openAuthorization(encryption, streamId, sealed))),
  );
}
