/**
 * Scope strings (RFC 6749 §3.3): space-delimited, case-sensitive tokens of
 * %x21 / %x23-5B / %x5D-7E. Kept as ordered, de-duplicated arrays.
 */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value);
}

/** Parses a scope string; returns null when it is malformed (a token with a forbidden character). */
export function parseScope(value: string): string[] | null {
  const tokens = value.split(' ').filter((token) => token !== '');
  if (!tokens.every(isScopeToken)) return null;
  return [...new Set(tokens)];
}

export function formatScope(tokens: readonly string[]): string {
  return tokens.join(' ');
}

/** True when every token of `requested` is in `allowed`. */
export function isSubset(requested: readonly string[], allowed: readonly string[]): boolean {
  const allowedSet = new Set(allowed);
  return requested.every((token) => allowedSet.has(token));
}
