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

/**
 * Runs at most `limit` hashes at once, so a burst of logins queues instead of starving everything else. Logins
 * take a place in line first (`admit`), and the line is bounded: when `limit` hashes run and `maxQueue` wait,
 * the next login is refused at once rather than made to wait without limit.
 */
class Gate {
  private running = 0;
  /** Admitted and not yet finished, running or not. */
  private admitted = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(
    private readonly limit: number,
    private readonly maxQueue: number,
  ) {}

  /** Checks waiting for a free slot, and admitted ones not yet started. */
  get queueLength(): number {
    return Math.max(0, this.admitted - this.running);
  }

  /** A place in line, or undefined when the line is full. Release it with `done`, whether it ran or not. */
  admit(): { run<T>(work: () => Promise<T>): Promise<T>; done(): void } | undefined {
    if (this.admitted >= this.limit + this.maxQueue) return undefined;
    this.admitted++;
    let released = false;
    return {
      run: (work) => this.run(work),
      done: () => {
        if (released) return;
        released = true;
        this.admitted--;
      },
    };
  }

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

/** One login's place in the Argon2 line: its password check runs through it. */
export interface PasswordCheckTicket {
  check(phc: string, password: string): Promise<PasswordCheck>;
  /** The same work as a check, for a user who does not exist. */
  checkNobody(password: string): Promise<void>;
  /** Gives the place back; call it once the check is done or will not happen. */
  done(): void;
}

export class PasswordHasher {
  private readonly options: Options & { memoryCost: number; timeCost: number };
  private readonly gate: Gate;
  private dummyHash: Promise<string> | undefined;

  /**
   * `concurrency` hashes at once; `maxQueue` logins may wait beyond those (Infinity by default, as for the CLI;
   * the server passes GATEHOUSE_ARGON2_QUEUE_MAX).
   */
  constructor(settings: Argon2Settings, concurrency = 2, maxQueue = Infinity) {
    this.options = {
      algorithm: ARGON2ID,
      memoryCost: settings.memoryKib,
      timeCost: settings.iterations,
      parallelism: 1,
    };
    this.gate = new Gate(concurrency, maxQueue);
  }

  /** Logins admitted and waiting for a free hashing slot. */
  get queueLength(): number {
    return this.gate.queueLength;
  }

  /** A place in line for one login's password check, or undefined when the line is full (answer 503). */
  admit(): PasswordCheckTicket | undefined {
    const place = this.gate.admit();
    if (!place) return undefined;
    const check = (phc: string, password: string) => place.run(() => this.verify(phc, password));
    return {
      check,
      checkNobody: async (password) => {
        await check(await this.dummy(), password);
      },
      done: place.done,
    };
  }

  hash(password: string): Promise<string> {
    return this.gate.run(() => hash(password, this.options));
  }

  async check(phc: string, password: string): Promise<PasswordCheck> {
    return this.gate.run(() => this.verify(phc, password));
  }

  private async verify(phc: string, password: string): Promise<PasswordCheck> {
    const ok = await verify(phc, password).catch(() => false);
    return { ok, needsRehash: ok && !phc.includes(`$m=${this.options.memoryCost},t=${this.options.timeCost},p=1$`) };
  }

  /**
   * A hash to check passwords against for a user who does not exist, so the response time does not tell whether
   * a username is registered.
   */
  private dummy(): Promise<string> {
    this.dummyHash ??= this.hash('gatehouse dummy password');
    return this.dummyHash;
  }
}
