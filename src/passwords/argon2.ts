/**
 * Password hashing with Argon2id (RFC 9106), stored as a PHC string that carries its own parameters, so a change
 * of GATEHOUSE_ARGON2_* re-hashes each password at its owner's next successful login.
 */
import { hash, verify, type Options } from '@node-rs/argon2';

/** Algorithm.Argon2id: the package declares its enum `const`, which isolated modules cannot inline. */
const ARGON2ID = 2 as NonNullable<Options['algorithm']>;

export interface Argon2Settings {
  memoryKib: number;
  iterations: number;
}

export interface PasswordCheck {
  ok: boolean;
  /** The stored hash uses other parameters than the configured ones: store a fresh hash. */
  needsRehash: boolean;
}

/** Runs at most `limit` hashes at once, so a burst of logins queues instead of starving everything else. */
class Gate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

export class PasswordHasher {
  private readonly options: Options & { memoryCost: number; timeCost: number };
  private readonly gate: Gate;
  private dummyHash: Promise<string> | undefined;

  constructor(settings: Argon2Settings, concurrency = 2) {
    this.options = {
      algorithm: ARGON2ID,
      memoryCost: settings.memoryKib,
      timeCost: settings.iterations,
      parallelism: 1,
    };
    this.gate = new Gate(concurrency);
  }

  hash(password: string): Promise<string> {
    return this.gate.run(() => hash(password, this.options));
  }

  async check(phc: string, password: string): Promise<PasswordCheck> {
    const ok = await this.gate.run(() => verify(phc, password).catch(() => false));
    return { ok, needsRehash: ok && !phc.includes(`$m=${this.options.memoryCost},t=${this.options.timeCost},p=1$`) };
  }

  /**
   * Spends the time of a real check on a user who does not exist, so the response time does not tell whether
   * a username is registered.
   */
  async checkNobody(password: string): Promise<void> {
    this.dummyHash ??= this.hash('gatehouse dummy password');
    await this.check(await this.dummyHash, password);
  }
}
