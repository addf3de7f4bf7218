/**
 * What is known about the request being served, wherever in its call chain the code runs: its id (so that every
 * log line it causes carries it) and the facts its one summary line reports (the client, the throttle's
 * decision). Node's AsyncLocalStorage carries it across awaits; outside a request there is none.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** What the throttle decided about a request, for the request's log line. */
export type ThrottleDecision =
  | 'counted' // a password check was allowed and counted
  | 'blocked' // refused: a lockout counter is blocked
  | 'busy-user' // refused: too many checks of this username at once
  | 'busy-address' // refused: too many checks from this address at once
  | 'busy-argon2' // refused: the Argon2 line is full
  | 'address-blocked'; // a client authentication refused: the address is blocked

export interface RequestScope {
  readonly id: string;
  clientId?: string;
  throttle?: ThrottleDecision;
}

const storage = new AsyncLocalStorage<RequestScope>();

export function runInRequestScope<T>(scope: RequestScope, work: () => T): T {
  return storage.run(scope, work);
}

/** The request being served, if any. */
export function currentRequest(): RequestScope | undefined {
  return storage.getStore();
}

/** Records a fact about the request being served (nothing outside a request). */
export function noteRequest(facts: Partial<Omit<RequestScope, 'id'>>): void {
  const scope = storage.getStore();
  if (scope) Object.assign(scope, facts);
}
