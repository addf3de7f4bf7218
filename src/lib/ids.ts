import { randomBytes, randomUUID } from 'node:crypto';

let lastMs = 0;
let sequence = 0;

/**
 * A UUIDv7 (RFC 9562 §5.7): 48 bits of milliseconds, a 12-bit counter, then random bits. Time-ordered ids keep
 * B-tree inserts at the right edge of the index, which is markedly faster than random keys, and the counter
 * (RFC 9562 §6.2, method 1) keeps ids made in the same millisecond by this process in creation order.
 */
export function uuidv7(nowMs: number = Date.now()): string {
  if (nowMs > lastMs) {
    lastMs = nowMs;
    sequence = 0;
  } else if (++sequence > 0xfff) {
    lastMs++;
    sequence = 0;
  }
  const bytes = randomBytes(16);
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A random UUIDv4, for identifiers that must not reveal their creation time (a user's `sub`). */
export function uuidv4(): string {
  return randomUUID();
}
