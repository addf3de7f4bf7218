/**
 * Brute-force protection, kept in the database so that it holds across instances.
 *
 * Password logins count against three counters: per (username, client IP), per IP, and per username across all
 * IPs. An attempt is counted *before* its password is checked, by a reservation made in one transaction with the
 * counters locked: so however many guesses arrive at once, on one instance or many, at most the threshold of
 * them get a password check in a block window, and the rest are answered 429. A successful login gives its
 * reservation back (and clears its (username, IP) counter); a failed one leaves it counted. While a counter is
 * blocked the answer is 429 whatever the password, so a locked account tells nothing about whether a guess was
 * right. The per-username counter waits at most a minute and does not apply from an address where that user
 * logged in successfully in the last 30 days. Usernames and addresses are stored only as hashes, and IPv6
 * addresses count by their /64.
 *
 * Client authentication failures count per client_id and per IP. A blocked address is refused before its
 * credentials are looked at; a blocked client_id only turns further failures into 429, so an attacker who
 * guesses at a service's secret cannot lock the service itself out. Checking blocks would put a database read
 * on every introspection, so each instance remembers the blocks it learns from the database when it records a
 * failure. (Client secrets are 256-bit random values, so counting them after the check loses nothing.)
 */
import { throttleAddress } from '../http/client-address.js';
import { sha256Hex } from '../lib/crypto.js';
import type { Clock } from '../lib/clock.js';
import type { Store } from '../storage/store.js';
import type { ThrottleRow } from '../storage/throttle.js';
import { usernameKey } from '../storage/users.js';
import { blockSeconds, nextFailureCount, type ThrottleSettings } from './throttle-policy.js';

type Rule = keyof ThrottleSettings;
interface Counter {
  rule: Rule;
  key: string;
}

/** A login attempt that was counted and may go on to its password check. */
export interface LoginAttempt {
  readonly counters: readonly Counter[];
  readonly trustedKey: string;
  /** How long the next attempt must wait because of this one (0 = none): a failure with a wait is a lockout. */
  readonly waitAfter: number;
}

export type LoginReservation = { ok: true; attempt: LoginAttempt } | { ok: false; waitSeconds: number };

const TRUSTED_SECONDS = 30 * 86_400;

/**
 * Until when a counter blocks after its `failures`-th attempt at `now`: 0 (not blocked) below the threshold, never
 * `now` itself. A concurrent attempt reads its `now` before it waits for the row lock, so it may be a second
 * earlier than the one that wrote the row; `now` stored as "blocked until" would then block it for a second,
 * with no failure at all (concurrent first logins from one address got 429 "Too many failed attempts").
 */
function blockedUntilAfter(rule: ThrottleSettings[Rule], failures: number, now: number): number {
  const seconds = blockSeconds(rule, failures);
  return seconds > 0 ? now + seconds : 0;
}
const hashKey = (...parts: string[]) => sha256Hex(parts.join('\0'));
const clientAddressKey = (ip: string) => hashKey('client-ip', throttleAddress(ip));

export class Throttle {
  /** Client-auth blocks this instance has seen: key → blocked until (epoch seconds). */
  private readonly localBlocks = new Map<string, number>();
  /** Password checks running in this process, per username key and per address key. */
  private readonly checksRunning = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly settings: ThrottleSettings,
    private readonly clock: Clock,
    private readonly concurrency: { perUser: number; perAddress: number } = { perUser: 2, perAddress: 16 },
  ) {}

  private loginCounters(username: string, ip: string): { userAtAddress: Counter; address: Counter; user: Counter; trusted: string } {
    const name = usernameKey(username);
    const address = throttleAddress(ip);
    return {
      userAtAddress: { rule: 'userAtAddress', key: hashKey('login-user-ip', name, address) },
      address: { rule: 'address', key: hashKey('login-ip', address) },
      user: { rule: 'user', key: hashKey('login-user', name) },
      trusted: hashKey('login-trusted', name, address),
    };
  }

  /**
   * Counts a login attempt before its password is checked, or refuses it with the seconds to wait. The counters
   * are read and written in one transaction with their rows locked, so concurrent attempts are counted one after
   * another and none of them sees a stale count.
   */
  async reserveLogin(username: string, ip: string): Promise<LoginReservation> {
    const now = this.clock.now();
    const named = this.loginCounters(username, ip);
    return this.store.transaction(async (tx) => {
      const [trustedRow] = await tx.throttle.find([named.trusted]);
      const trusted = trustedRow !== undefined && now - trustedRow.lastFailureAt < TRUSTED_SECONDS;
      // The per-username counter does not apply where the user logged in recently: an attacker elsewhere cannot
      // make the real user wait.
      const counters = trusted ? [named.userAtAddress, named.address] : [named.userAtAddress, named.address, named.user];
      const rows = await tx.throttle.lock(counters.map((counter) => counter.key));
      let waitSeconds = 0;
      for (const { key } of counters) waitSeconds = Math.max(waitSeconds, (rows.get(key)?.blockedUntil ?? 0) - now);
      if (waitSeconds > 0) return { ok: false, waitSeconds };
      let waitAfter = 0;
      for (const { rule, key } of counters) {
        const failures = nextFailureCount(this.settings[rule], rows.get(key), now);
        const blockedUntil = blockedUntilAfter(this.settings[rule], failures, now);
        await tx.throttle.save({ key, failures, lastFailureAt: now, blockedUntil });
        waitAfter = Math.max(waitAfter, blockedUntil - now);
      }
      return { ok: true, attempt: { counters, trustedKey: named.trusted, waitAfter } };
    });
  }

  /**
   * A slot for one password check of `username` from `ip`, or the reason there is none: that user or that address
   * already has its limit of checks running here, so one account or one address cannot take the whole Argon2
   * capacity. Call `leave` when the check is over.
   */
  enterPasswordCheck(username: string, ip: string): { leave: () => void } | { refused: 'busy-user' | 'busy-address' } {
    const keys: Array<[string, number, 'busy-user' | 'busy-address']> = [
      [`u\0${usernameKey(username)}`, this.concurrency.perUser, 'busy-user'],
      [`a\0${throttleAddress(ip)}`, this.concurrency.perAddress, 'busy-address'],
    ];
    const full = keys.find(([key, limit]) => (this.checksRunning.get(key) ?? 0) >= limit);
    if (full) return { refused: full[2] };
    for (const [key] of keys) this.checksRunning.set(key, (this.checksRunning.get(key) ?? 0) + 1);
    let left = false;
    return {
      leave: () => {
        if (left) return;
        left = true;
        for (const [key] of keys) {
          const running = this.checksRunning.get(key)! - 1;
          if (running === 0) this.checksRunning.delete(key);
          else this.checksRunning.set(key, running);
        }
      },
    };
  }

  /** Takes one attempt off each counter; a block that attempt set is lifted once the count is below the threshold. */
  private async giveBack(tx: Store, rows: ReadonlyMap<string, ThrottleRow>, counters: readonly Counter[]): Promise<void> {
    for (const { rule, key } of counters) {
      const row = rows.get(key);
      if (!row || row.failures === 0) continue;
      const failures = row.failures - 1;
      await tx.throttle.save({ ...row, failures, blockedUntil: failures < this.settings[rule].threshold ? 0 : row.blockedUntil });
    }
  }

  /**
   * A successful login gives its reservation back: its (username, IP) counter is cleared, the per-IP and
   * per-username counters drop by the one attempt (and a block that attempt set is lifted once the count is
   * below the threshold again), and the address is trusted for the user. Every row it touches is locked first,
   * in one go (in key order, as every throttle transaction does), so that it cannot deadlock with a reservation.
   */
  async loginSucceeded(attempt: LoginAttempt): Promise<void> {
    const now = this.clock.now();
    await this.store.transaction(async (tx) => {
      const rows = await tx.throttle.lock([...attempt.counters.map((counter) => counter.key), attempt.trustedKey]);
      await this.giveBack(tx, rows, attempt.counters.filter((counter) => counter.rule !== 'userAtAddress'));
      // Cleared, not deleted: a reservation waiting for this row's lock finds it still there.
      for (const { key } of attempt.counters.filter((counter) => counter.rule === 'userAtAddress')) {
        await tx.throttle.save({ key, failures: 0, lastFailureAt: 0, blockedUntil: 0 });
      }
      await tx.throttle.save({ key: attempt.trustedKey, failures: 0, lastFailureAt: now, blockedUntil: 0 });
    });
  }

  private clientCounters(clientId: string, ip: string): Counter[] {
    return [
      { rule: 'client', key: hashKey('client', clientId) },
      { rule: 'clientAddress', key: clientAddressKey(ip) },
    ];
  }

  /** Seconds a client authentication from this address must wait, as far as this instance knows (no database read). */
  clientAddressWait(ip: string): number {
    const key = clientAddressKey(ip);
    const until = this.localBlocks.get(key);
    if (until === undefined) return 0;
    if (until > this.clock.now()) return until - this.clock.now();
    this.localBlocks.delete(key);
    return 0;
  }

  /**
   * Counts a failed client authentication; returns the wait that was already in force when it arrived (0 = none),
   * so the failure that reaches the threshold is still answered as a failure and the ones after it with 429.
   */
  async clientFailed(clientId: string, ip: string): Promise<number> {
    const counters = this.clientCounters(clientId, ip);
    const now = this.clock.now();
    const saved = await this.store.transaction(async (tx) => {
      const rows = await tx.throttle.lock(counters.map((counter) => counter.key));
      const results: Array<{ key: string; before: number; blockedUntil: number }> = [];
      for (const { rule, key } of counters) {
        const previous = rows.get(key);
        const failures = nextFailureCount(this.settings[rule], previous, now);
        const before = previous && failures > 1 ? previous.blockedUntil : 0;
        const blockedUntil = Math.max(before, blockedUntilAfter(this.settings[rule], failures, now));
        await tx.throttle.save({ key, failures, lastFailureAt: now, blockedUntil });
        results.push({ key, before, blockedUntil });
      }
      return results;
    });
    let waitBefore = 0;
    for (const { key, before, blockedUntil } of saved) {
      waitBefore = Math.max(waitBefore, before - now);
      if (blockedUntil > now) this.localBlocks.set(key, blockedUntil);
    }
    if (this.localBlocks.size > 10_000) this.localBlocks.clear(); // bounded memory; the database keeps the truth
    return waitBefore;
  }
}
