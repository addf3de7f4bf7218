/**
 * Brute-force protection, kept in the database so that it holds across instances.
 *
 * Password logins are checked against three counters before any password is looked at: per (username, client
 * IP), per IP, and per username across all IPs. While one of them is blocked the answer is 429 whatever the
 * password, so a locked account tells nothing about whether a guess was right. The per-username counter waits
 * at most a minute and does not apply from an address where that user logged in successfully in the last 30
 * days, so an attacker elsewhere cannot keep the real user out. A successful login clears its (username, IP)
 * counter. Usernames and addresses are stored only as hashes.
 *
 * Client authentication failures count per client_id and per IP. A blocked address is refused before its
 * credentials are looked at; a blocked client_id only turns further failures into 429, so an attacker who
 * guesses at a service's secret cannot lock the service itself out. Checking blocks would put a database read
 * on every introspection, so each instance remembers the blocks it learns from the database when it records a
 * failure.
 */
import { sha256Hex } from '../lib/crypto.js';
import type { Clock } from '../lib/clock.js';
import type { Store } from '../storage/store.js';
import { usernameKey } from '../storage/users.js';
import { blockSeconds, nextFailureCount, type ThrottleSettings } from './throttle-policy.js';

type Rule = keyof ThrottleSettings;
interface Counter {
  rule: Rule;
  key: string;
}

const TRUSTED_SECONDS = 30 * 86_400;
const hashKey = (...parts: string[]) => sha256Hex(parts.join('\0'));
const clientAddressKey = (ip: string) => hashKey('client-ip', ip);

export class Throttle {
  /** Client-auth blocks this instance has seen: key → blocked until (epoch seconds). */
  private readonly localBlocks = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly settings: ThrottleSettings,
    private readonly clock: Clock,
  ) {}

  private loginCounters(username: string, ip: string): { userAtAddress: Counter; address: Counter; user: Counter; trusted: string } {
    const name = usernameKey(username);
    return {
      userAtAddress: { rule: 'userAtAddress', key: hashKey('login-user-ip', name, ip) },
      address: { rule: 'address', key: hashKey('login-ip', ip) },
      user: { rule: 'user', key: hashKey('login-user', name) },
      trusted: hashKey('login-trusted', name, ip),
    };
  }

  /** Seconds the login must wait before its password may be checked (0 = go ahead). */
  async loginWait(username: string, ip: string): Promise<number> {
    const now = this.clock.now();
    const counters = this.loginCounters(username, ip);
    const rows = await this.store.throttle.find([counters.userAtAddress.key, counters.address.key, counters.user.key, counters.trusted]);
    const trusted = rows.some((row) => row.key === counters.trusted && now - row.lastFailureAt < TRUSTED_SECONDS);
    let wait = 0;
    for (const row of rows) {
      if (row.key === counters.trusted || (trusted && row.key === counters.user.key)) continue;
      wait = Math.max(wait, row.blockedUntil - now);
    }
    return wait;
  }

  /** Counts a failed login; returns how long the next attempt will have to wait (0 = none). */
  async loginFailed(username: string, ip: string): Promise<number> {
    const { userAtAddress, address, user } = this.loginCounters(username, ip);
    return (await this.fail([userAtAddress, address, user])).waitAfter;
  }

  /** A successful login clears its (username, IP) counter and trusts that address for the user. */
  async loginSucceeded(username: string, ip: string): Promise<void> {
    const counters = this.loginCounters(username, ip);
    await this.store.transaction(async (tx) => {
      await tx.throttle.delete([counters.userAtAddress.key]);
      await tx.throttle.save({ key: counters.trusted, failures: 0, lastFailureAt: this.clock.now(), blockedUntil: 0 });
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
    return (await this.fail(this.clientCounters(clientId, ip))).waitBefore;
  }

  /** Records one failure on each counter; the longest wait in force before it, and after it. */
  private async fail(counters: Counter[]): Promise<{ waitBefore: number; waitAfter: number }> {
    const now = this.clock.now();
    const saved = await this.store.transaction(async (tx) => {
      const rows = new Map((await tx.throttle.find(counters.map((c) => c.key))).map((row) => [row.key, row]));
      const results: Array<{ key: string; before: number; blockedUntil: number }> = [];
      for (const { rule, key } of counters) {
        const previous = rows.get(key);
        const failures = nextFailureCount(this.settings[rule], previous, now);
        const before = previous && failures > 1 ? previous.blockedUntil : 0;
        const blockedUntil = Math.max(before, now + blockSeconds(this.settings[rule], failures));
        await tx.throttle.save({ key, failures, lastFailureAt: now, blockedUntil });
        results.push({ key, before, blockedUntil });
      }
      return results;
    });
    let waitBefore = 0;
    let waitAfter = 0;
    for (const { key, before, blockedUntil } of saved) {
      waitBefore = Math.max(waitBefore, before - now);
      if (blockedUntil > now) {
        this.localBlocks.set(key, blockedUntil);
        waitAfter = Math.max(waitAfter, blockedUntil - now);
      }
    }
    if (this.localBlocks.size > 10_000) this.localBlocks.clear(); // bounded memory; the database keeps the truth
    return { waitBefore, waitAfter };
  }
}
