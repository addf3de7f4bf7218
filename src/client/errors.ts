/**
 * One family of errors, each with a stable `code` to branch on (never the message). Messages name what failed,
 * never a token.
 */
export class GatehouseClientError extends Error {
  readonly code: string = 'ERR_GATEHOUSE_CLIENT';
  override readonly name: string = 'GatehouseClientError';
}

/**
 * The session is gone: a renewal was refused with 400 invalid_grant (RFC 6749 §5.2: the refresh token is
 * "invalid, expired, revoked"), or there is no refresh token to renew with. Send the user to log in again.
 */
export class SessionEndedError extends GatehouseClientError {
  override readonly code = 'ERR_SESSION_ENDED';
  override readonly name = 'SessionEndedError';
}

/**
 * The password grant was refused with invalid_grant (wrong username or password, or a disabled user), or the
 * authorization code was (expired, already used, or its login ended meanwhile): log in again.
 */
export class LoginFailedError extends GatehouseClientError {
  override readonly code = 'ERR_LOGIN_FAILED';
  override readonly name = 'LoginFailedError';
}

/**
 * What came back to the redirect URI is not the answer to a login this app started: an unknown state (forged,
 * replayed, or started in another tab), an `iss` that is not the issuer's (RFC 9207), or no code. Nothing was
 * sent to the issuer; start the login again.
 */
export class LoginResponseError extends GatehouseClientError {
  override readonly code = 'ERR_LOGIN_RESPONSE';
  override readonly name = 'LoginResponseError';
}

/**
 * The issuer answered the login with an error (RFC 6749 §4.1.2.1): `error` is its code, e.g. access_denied when
 * the user denied consent, login_required after prompt=none.
 */
export class AuthorizationError extends GatehouseClientError {
  override readonly code = 'ERR_AUTHORIZATION';
  override readonly name = 'AuthorizationError';
  constructor(
    message: string,
    /** The RFC 6749 §4.1.2.1 `error` code. */
    readonly error: string,
    readonly description?: string,
  ) {
    super(message);
  }
}

/** No tokens yet (or any more): log in first. */
export class NotLoggedInError extends GatehouseClientError {
  override readonly code = 'ERR_NOT_LOGGED_IN';
  override readonly name = 'NotLoggedInError';
}

/**
 * The API refused a freshly renewed token with invalid_token again. Retrying would loop, so the call stops here
 * (for example, a token issued for another audience).
 */
export class TokenRejectedError extends GatehouseClientError {
  override readonly code = 'ERR_TOKEN_REJECTED';
  override readonly name = 'TokenRejectedError';
}

/**
 * The token endpoint failed in a way that says nothing about the user's session: unreachable, 5xx, a malformed
 * answer, or invalid_client (the client's own configuration is broken). The tokens are kept.
 */
export class TokenEndpointError extends GatehouseClientError {
  override readonly code = 'ERR_TOKEN_ENDPOINT';
  override readonly name = 'TokenEndpointError';
  constructor(
    message: string,
    /** The HTTP status, when the endpoint answered. */
    readonly status?: number,
    /** The RFC 6749 §5.2 `error` code, when the answer had one. */
    readonly error?: string,
  ) {
    super(message);
  }
}
