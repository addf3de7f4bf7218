/**
 * Why a request could not be verified although the client did nothing wrong. Neither is ever answered 401: a
 * 401 tells the client its token is bad, and an outage must not log users out.
 */

/** The issuer is unreachable, slower than the deadline, or answers 5xx: 503 with Retry-After (RFC 9110 §15.6.4). */
export class IssuerUnavailable extends Error {
  override readonly name = 'IssuerUnavailable';
  /** A pooled socket was closed under the request before it reached the issuer: safe to send again. */
  readonly stale: boolean;
  constructor(message: string, options: { stale?: boolean } = {}) {
    super(message);
    this.stale = options.stale ?? false;
  }
}

/**
 * The issuer answers, but not as it should for this API: wrong client credentials, a metadata `issuer` that
 * differs from the configured one, a malformed answer. Retrying will not help, so it is a 500 and a log line.
 */
export class IssuerMisconfigured extends Error {
  override readonly name = 'IssuerMisconfigured';
}
