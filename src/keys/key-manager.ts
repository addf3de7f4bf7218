/**
 * The keys of one instance: a snapshot of the signing_keys table (a KeyRing), re-read every few seconds so that
 * a rotation or revocation made by another instance or the CLI reaches this one within KEY_RING_REFRESH_SECONDS.
 * The schedule runs here too: every instance checks it, and compare-and-set updates let exactly one of them
 * perform each step.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { audit, type AuditEvent } from '../audit/audit.js';
import type { Clock } from '../lib/clock.js';
import { describeError, type Logger } from '../lib/log.js';
import type { KeyState, SigningKeyRecord } from '../storage/signing-keys.js';
import type { Store } from '../storage/store.js';
import { isUniqueViolation } from '../storage/database.js';
import type { KeyEncryption } from './encryption.js';
import { encodeHeader } from '../tokens/jws.js';
import { VerifiedTokenCache } from '../tokens/verified-cache.js';
import { generateSigningKey, type GeneratedKey } from './generate.js';
import { KeyRing, type SigningKey, type VerificationKey } from './key-ring.js';
import { KEY_RING_REFRESH_SECONDS, planKeySchedule, type KeyStep, type ScheduleSettings } from './schedule.js';

export type { KeyRing, SigningKey, VerificationKey } from './key-ring.js';

export class NoSigningKeyError extends Error {
  override readonly name = 'NoSigningKeyError';
}

export class KeyManager {
  /** Tokens whose signature this instance has checked (see tokens/verified-cache.ts). */
  readonly verifiedTokens = new VerifiedTokenCache();
  private snapshot = new KeyRing([], undefined, new Map());
  private readonly privateKeys = new Map<string, KeyObject>();
  private readonly publicKeys = new Map<string, KeyObject>();
  private timer: NodeJS.Timeout | undefined;
  private maintaining: Promise<void> | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private readonly reloadListeners: Array<(ring: KeyRing) => void> = [];

  constructor(
    private readonly store: Store,
    /** The key-encryption secrets: they seal the private keys, and other secrets kept at rest (ssf/push-authorization.ts). */
    readonly encryption: KeyEncryption,
    private readonly settings: ScheduleSettings,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  get ring(): KeyRing {
    return this.snapshot;
  }

  /** The key that signs now. Throws when there is none (the ring was never loaded). */
  signingKey(): SigningKey {
    const key = this.snapshot.signing;
    if (!key) throw new NoSigningKeyError('no current signing key is loaded');
    return key;
  }

  /**
   * Re-reads the table and rebuilds the ring. Every private key is decrypted when first seen, so a key sealed
   * under a secret that is no longer configured stops the start before anything is written.
   */
  reload(): Promise<void> {
    // One after another: two reads of the table answered out of order must not put an older ring back (a revoked
    // key good again until the next reload). The timer, a change here and a followed revocation may all ask.
    const next = this.reloading.then(() => this.readRing());
    this.reloading = next.catch(() => undefined);
    return next;
  }

  private async readRing(): Promise<void> {
    const records = await this.store.signingKeys.list();
    const verifiers = new Map<string, VerificationKey>();
    let signing: SigningKey | undefined;
    for (const record of records) {
      if (!this.privateKeys.has(record.kid)) {
        const pkcs8 = this.encryption.decrypt(record.kid, record.privateKey);
        this.privateKeys.set(record.kid, createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }));
        this.publicKeys.set(record.kid, createPublicKey({ key: JSON.parse(record.publicJwk) as import('node:crypto').JsonWebKey, format: 'jwk' }));
      }
      if (record.state === 'revoked') continue;
      verifiers.set(record.kid, { kid: record.kid, alg: record.alg, publicKey: this.publicKeys.get(record.kid)! });
      if (record.state === 'current') {
        const header = this.snapshot.signing?.kid === record.kid ? this.snapshot.signing.encodedHeader : encodeHeader({ alg: record.alg, kid: record.kid, typ: 'at+jwt' });
        signing = { kid: record.kid, alg: record.alg, privateKey: this.privateKeys.get(record.kid)!, encodedHeader: header };
      }
    }
    const live = new Set(records.map((record) => record.kid));
    for (const kid of this.privateKeys.keys()) {
      if (!live.has(kid)) {
        this.privateKeys.delete(kid);
        this.publicKeys.delete(kid);
      }
    }
    this.snapshot = new KeyRing(records, signing, verifiers);
    for (const listener of this.reloadListeners) listener(this.snapshot);
  }

  /** Calls `listener` with the new ring after every reload (every 2 s while started, and after each change here). */
  onReload(listener: (ring: KeyRing) => void): void {
    this.reloadListeners.push(listener);
  }

  /** Applies whatever the schedule says is due, then reloads. Safe to call from any number of instances. */
  maintain(): Promise<void> {
    // One run at a time in this process: the timer and a test may both ask.
    this.maintaining ??= this.applySchedule('none')
      .then(() => undefined)
      .finally(() => (this.maintaining = undefined));
    return this.maintaining;
  }

  /** `gatehouse keys rotate`: promote the next key now ('published'), or even before it is published ('now'). */
  async rotate(force: 'published' | 'now'): Promise<KeyStep[]> {
    return this.applySchedule(force, 'cli');
  }

  /**
   * `gatehouse keys revoke KID`: the key leaves the JWKS and every ring at once, so tokens it signed turn
   * inactive; if it was signing, the next key takes over immediately so logins keep working.
   */
  async revoke(kid: string): Promise<boolean> {
    const now = this.clock.now();
    const keys = await this.store.signingKeys.list();
    const record = keys.find((key) => key.kid === kid);
    if (!record || record.state === 'revoked') return false;
    const afterRevocation = keys.map((key) => (key.kid === kid ? { ...key, state: 'revoked' as const, revokedAt: now } : key));
    // One transaction: no instance ever reads a table without a current key.
    return this.apply([{ kind: 'revoke', kid, from: record.state }, ...planKeySchedule(afterRevocation, now, this.settings)], now, 'cli');
  }

  /** `gatehouse keys reencrypt`: seals every private key under the first secret. Returns how many changed. */
  async reencrypt(): Promise<number> {
    let changed = 0;
    for (const record of await this.store.signingKeys.list()) {
      if (this.encryption.isCurrent(record.privateKey)) continue;
      const pkcs8 = this.encryption.decrypt(record.kid, record.privateKey);
      await this.store.signingKeys.replacePrivateKey(record.kid, this.encryption.encrypt(record.kid, pkcs8));
      changed++;
    }
    return changed;
  }

  /** Runs maintain() every `intervalSeconds` until stop(). Failures are logged and retried at the next tick. */
  start(intervalSeconds = Math.min(2, KEY_RING_REFRESH_SECONDS)): void {
    this.timer = setInterval(() => {
      this.maintain().catch((error: unknown) => this.log.error('key maintenance failed', { error: describeError(error) }));
    }, intervalSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async applySchedule(force: 'none' | 'published' | 'now', actor = 'system'): Promise<KeyStep[]> {
    const now = this.clock.now();
    const steps = planKeySchedule(await this.store.signingKeys.list(), now, this.settings, force);
    await this.apply(steps, now, actor);
    return steps;
  }

  /** Applies `steps` in one transaction, then reloads. False when another instance changed the keys first. */
  private async apply(steps: ReadonlyArray<KeyStep | RevokeStep>, now: number, actor: string): Promise<boolean> {
    let applied = true;
    if (steps.length > 0) {
      // Generate outside the transaction: an RSA key takes a while, and the write lock should not wait on it.
      const fresh: GeneratedKey[] = [];
      for (const step of steps) {
        if (step.kind === 'create-current' || step.kind === 'create-next') fresh.push(await generateSigningKey(this.settings.alg));
      }
      try {
        await this.store.transaction(async (tx) => {
          for (const step of steps) {
            await this.applyStep(tx, step, now, fresh);
            const event = auditEvent(step, actor);
            if (event) await audit(tx, now, event);
          }
        });
        for (const step of steps) this.log.info(`signing keys: ${describeStep(step)}`);
      } catch (error) {
        // Another instance applied the same step first: its result is as good as ours.
        if (!(error instanceof LostRace) && !isUniqueViolation(error)) throw error;
        applied = false;
      }
    }
    await this.reload();
    return applied;
  }

  private async applyStep(tx: Store, step: KeyStep | RevokeStep, now: number, fresh: GeneratedKey[]): Promise<void> {
    const keys = tx.signingKeys;
    switch (step.kind) {
      case 'revoke':
        if (!(await keys.transition(step.kid, step.from, 'revoked', { revokedAt: now }))) throw new LostRace();
        await tx.events.append(now, { type: 'key_revoked', kid: step.kid, reason: 'key_revoked', initiator: 'admin' });
        return;
      case 'create-current':
        if (step.retireKid !== null && !(await keys.transition(step.retireKid, 'current', 'retired', { retiredAt: now }))) throw new LostRace();
        await keys.insert(this.seal(fresh.shift()!, 'current', now));
        return;
      case 'create-next':
        await keys.insert(this.seal(fresh.shift()!, 'next', now));
        return;
      case 'promote':
        // Retire first: the unique index allows one current key, and this order never breaks it.
        if (step.currentKid !== null && !(await keys.transition(step.currentKid, 'current', 'retired', { retiredAt: now }))) throw new LostRace();
        if (!(await keys.transition(step.nextKid, 'next', 'current', { activatedAt: now }))) throw new LostRace();
        return;
      case 'drop-next':
        if (!(await keys.delete(step.kid, 'next'))) throw new LostRace();
        return;
      case 'remove':
        if (!(await keys.delete(step.kid, step.state))) throw new LostRace();
        return;
    }
  }

  private seal(key: GeneratedKey, state: 'current' | 'next', now: number): SigningKeyRecord {
    return {
      kid: key.kid,
      alg: key.alg,
      state,
      publicJwk: JSON.stringify(key.publicJwk),
      privateKey: this.encryption.encrypt(key.kid, key.privatePkcs8),
      createdAt: now,
      activatedAt: state === 'current' ? now : null,
      retiredAt: null,
      revokedAt: null,
    };
  }
}

class LostRace extends Error {}

/** Rotations and revocations go to the audit trail; creating and removing keys is routine. */
function auditEvent(step: KeyStep | RevokeStep, actor: string): AuditEvent | undefined {
  if (step.kind === 'revoke') return { type: 'key_revoked', actor, subject: step.kid, detail: `was ${step.from}` };
  if (step.kind === 'promote') return { type: 'key_rotated', actor, subject: step.nextKid, detail: step.currentKid === null ? null : `${step.currentKid} retired` };
  if (step.kind === 'create-current' && step.retireKid !== null) return { type: 'key_rotated', actor, subject: null, detail: `${step.retireKid} retired; a new key signs at once` };
  return undefined;
}

/** Not a scheduled step: only `keys revoke` asks for it. */
interface RevokeStep {
  kind: 'revoke';
  kid: string;
  from: KeyState;
}

function describeStep(step: KeyStep | RevokeStep): string {
  switch (step.kind) {
    case 'revoke':
      return `revoked ${step.from} key ${step.kid}`;
    case 'create-current':
      return step.retireKid === null ? 'created a signing key' : `retired ${step.retireKid} and created a signing key at once`;
    case 'create-next':
      return 'created the next key';
    case 'promote':
      return `${step.nextKid} now signs` + (step.currentKid === null ? '' : `, ${step.currentKid} retired`);
    case 'drop-next':
      return `dropped next key ${step.kid} (signing algorithm changed)`;
    case 'remove':
      return `removed ${step.state} key ${step.kid}`;
  }
}
