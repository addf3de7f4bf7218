/**
 * One error family for every answer that is not a success, named after the RFC codes. A single middleware
 * (http/error-handler.ts) turns them into the JSON body and the headers; nothing matches on message text.
 *
 * `description` goes to the client and must stay within RFC 6749 §5.2's character set (printable ASCII
 * without `"` and `\`); `debug` goes to the log only.
 */
export class OAuthError extends Error {
  readonly headers: Record<string, string>;

  constructor(
    readonly code: string,
    readonly status: number,
    readonly description?: string,
    options: { headers?: Record<string, string>; debug?: string } = {},
  ) {
    super(options.debug ?? description ?? code);
    this.name = 'OAuthError';
    this.headers = options.headers ?? {};
    if (description !== undefined && !/^[\x20\x21\x23-\x5B\x5D-\x7E]*$/.test(description)) {
      throw new TypeError(`error_description outside RFC 6749 §5.2 characters: ${JSON.stringify(description)}`);
    }
  }

  body(): Record<string, string> {
    return this.description === undefined ? { error: this.code } : { error: this.code, error_description: this.description };
  }
}

export const REALM = 'gatehouse';

/** RFC 6749 §5.2: missing, repeated or malformed parameters, or more than one client authentication. */
export const invalidRequest = (description: string) => new OAuthError('invalid_request', 400, description);

/**
 * RFC 6749 §5.2: client authentication failed. Always 401 with a Basic challenge, and always the same body, so
 * an unknown client_id and a wrong secret cannot be told apart.
 */
export const invalidClient = (debug?: string) =>
  new OAuthError('invalid_client', 401, 'Client authentication failed', {
    headers: { 'WWW-Authenticate': `Basic realm="${REALM}"` },
    ...(debug === undefined ? {} : { debug }),
  });

export const invalidGrant = (description: string, debug?: string) =>
  new OAuthError('invalid_grant', 400, description, debug === undefined ? {} : { debug });
export const unauthorizedClient = (description: string) => new OAuthError('unauthorized_client', 400, description);
export const unsupportedGrantType = (description: string) => new OAuthError('unsupported_grant_type', 400, description);
export const invalidScope = (description: string) => new OAuthError('invalid_scope', 400, description);
/** RFC 8707 §2: the `resource` is not one this client may get tokens for. */
export const invalidTarget = (description: string) => new OAuthError('invalid_target', 400, description);

/** RFC 6749 §4.1.2.1: the authorization server does not issue codes for this response_type. */
export const unsupportedResponseType = (description: string) => new OAuthError('unsupported_response_type', 400, description);
/** RFC 6749 §4.1.2.1: the user (or the server) denied the request. */
export const accessDenied = (description: string) => new OAuthError('access_denied', 403, description);
/** OpenID Connect Core §3.1.2.6, for prompt=none: the user would have to log in, or to consent. */
export const loginRequired = () => new OAuthError('login_required', 400, 'The user is not logged in');
export const consentRequired = () => new OAuthError('consent_required', 400, 'The user has not consented to this client');
/**
 * A login, consent or logout form that did not come from the issuer's own page in this browser: posted from
 * another site (login CSRF), copied from another browser, expired or already used. Nothing was checked or done.
 */
export const formRefused = (description: string) => new OAuthError('invalid_request', 403, description);

/** RFC 6750 §3: no usable credentials; the challenge carries no error code. */
export const bearerMissing = () =>
  new OAuthError('unauthorized', 401, 'A Bearer access token is required', { headers: { 'WWW-Authenticate': `Bearer realm="${REALM}"` } });
/** RFC 6750 §3.1 invalid_request: a Bearer header without a well-formed token. */
export const bearerMalformed = () =>
  new OAuthError('invalid_request', 400, 'The Authorization header is malformed', {
    headers: { 'WWW-Authenticate': `Bearer realm="${REALM}", error="invalid_request"` },
  });
/** RFC 6750 §3.1 invalid_token: expired, revoked, malformed or otherwise invalid. */
export const bearerInvalid = () =>
  new OAuthError('invalid_token', 401, 'The access token is not active', {
    headers: { 'WWW-Authenticate': `Bearer realm="${REALM}", error="invalid_token"` },
  });
/** RFC 6750 §3.1 insufficient_scope: the token is valid but lacks `scope`. */
export const insufficientScope = (scope: string) =>
  new OAuthError('insufficient_scope', 403, `The access token lacks the scope ${scope}`, {
    headers: { 'WWW-Authenticate': `Bearer realm="${REALM}", error="insufficient_scope", scope="${scope}"` },
  });

/**
 * A browser request (it carries Origin) from a page not registered for the client it names. 403: the client may
 * be fine, this caller is not allowed to speak for it; nothing was checked or counted.
 */
export const foreignOrigin = () => new OAuthError('invalid_request', 403, 'Requests from this origin are not accepted for this client');

export const notFound = (description = 'No such resource') => new OAuthError('not_found', 404, description);
/** RFC 9110 §15.5.6: a 405 must list the allowed methods. */
export const methodNotAllowed = (allow: readonly string[]) =>
  new OAuthError('method_not_allowed', 405, `Use ${allow.join(' or ')}`, { headers: { Allow: allow.join(', ') } });
export const payloadTooLarge = (limitBytes: number) =>
  new OAuthError('invalid_request', 413, `The request body exceeds ${limitBytes} bytes`, { headers: { Connection: 'close' } });

/**
 * Brute-force throttling (RFC 6585 §4): too many failed attempts from here or for this account. The same answer
 * whatever the credentials presented, so a blocked account says nothing about a guess.
 */
export const tooManyAttempts = (retryAfterSeconds: number) =>
  new OAuthError('temporarily_unavailable', 429, 'Too many failed attempts; try again later', {
    headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
  });

/** The database cannot be reached: the same request may succeed shortly (RFC 9110 §15.6.4). */
export const temporarilyUnavailable = () =>
  new OAuthError('temporarily_unavailable', 503, 'The service is temporarily unavailable', { headers: { 'Retry-After': '2' } });
/**
 * The Argon2 line is full: this login was not counted and not checked, and may be sent again shortly. A burst
 * of logins is refused at once instead of making everyone's login wait without limit.
 */
export const passwordChecksBusy = () =>
  new OAuthError('temporarily_unavailable', 503, 'Too many logins are being checked; try again shortly', { headers: { 'Retry-After': '1' } });
export const serverError = () => new OAuthError('server_error', 500, 'An unexpected error occurred');

/** An administrative operation that cannot be done as asked (duplicate id, unknown user): CLI exit 1. */
export class OperationRefused extends Error {
  override readonly name = 'OperationRefused';
}

/** An administrative request whose input is malformed (bad id, short secret): CLI exit 2, like bad usage. */
export class InvalidInput extends Error {
  override readonly name = 'InvalidInput';
}
