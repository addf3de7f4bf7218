/** The JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of every body the issuer sends. */

/** RFC 6749 §5.2: `error` and `error_description` within %x20-21 / %x23-5B / %x5D-7E. */
const OAUTH_TEXT = '^[\\x20\\x21\\x23-\\x5B\\x5D-\\x7E]*$';

export const schemas = {
  OAuthError: {
    type: 'object',
    description: 'RFC 6749 §5.2 (and RFC 6750 §3.1 for the admin API): every answer that is not a success.',
    required: ['error'],
    additionalProperties: false,
    properties: {
      error: {
        type: 'string',
        pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$',
        examples: ['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'invalid_target', 'invalid_token', 'insufficient_scope', 'temporarily_unavailable', 'server_error', 'not_found', 'method_not_allowed'],
      },
      error_description: { type: 'string', pattern: OAUTH_TEXT },
      error_uri: { type: 'string' },
    },
  },
  TokenResponse: {
    type: 'object',
    description: 'RFC 6749 §5.1. `refresh_token` for clients with the refresh_token grant (password and refresh_token grants).',
    required: ['access_token', 'token_type', 'expires_in', 'scope'],
    additionalProperties: false,
    properties: {
      access_token: { type: 'string', description: 'An RFC 9068 JWT (typ at+jwt).' },
      token_type: { const: 'Bearer' },
      expires_in: { type: 'integer', minimum: 1 },
      scope: { type: 'string' },
      refresh_token: { type: 'string', description: 'Opaque, 256 random bits; rotated at every use.' },
    },
  },
  IntrospectionResponse: {
    description: 'RFC 7662 §2.2: `{"active":false}` for every inactive token, whatever the reason.',
    oneOf: [
      { type: 'object', required: ['active'], additionalProperties: false, properties: { active: { const: false } } },
      {
        type: 'object',
        required: ['active', 'scope', 'client_id', 'token_type', 'exp', 'iat', 'sub', 'iss'],
        additionalProperties: false,
        properties: {
          active: { const: true },
          scope: { type: 'string' },
          client_id: { type: 'string' },
          username: { type: 'string' },
          token_type: { enum: ['Bearer', 'refresh_token'] },
          exp: { type: 'integer' },
          iat: { type: 'integer' },
          sub: { type: 'string' },
          aud: { type: 'string' },
          iss: { type: 'string' },
          jti: { type: 'string' },
          sid: { type: 'string' },
        },
      },
    ],
  },
  Jwks: {
    type: 'object',
    description: 'RFC 7517 §5: the public keys that verify tokens, in the order next, current, retired.',
    required: ['keys'],
    additionalProperties: false,
    properties: {
      keys: {
        type: 'array',
        items: {
          type: 'object',
          required: ['kty', 'kid', 'alg', 'use'],
          properties: { kty: { enum: ['EC', 'RSA', 'OKP'] }, kid: { type: 'string' }, alg: { enum: ['ES256', 'RS256', 'PS256', 'EdDSA'] }, use: { const: 'sig' } },
          not: { anyOf: [{ required: ['d'] }, { required: ['p'] }, { required: ['q'] }, { required: ['dp'] }, { required: ['dq'] }, { required: ['qi'] }] },
        },
      },
    },
  },
  AuthorizationServerMetadata: {
    type: 'object',
    description: 'RFC 8414 §2.',
    required: ['issuer', 'token_endpoint', 'jwks_uri', 'grant_types_supported', 'token_endpoint_auth_methods_supported'],
    properties: {
      issuer: { type: 'string' },
      token_endpoint: { type: 'string' },
      jwks_uri: { type: 'string' },
      introspection_endpoint: { type: 'string' },
      revocation_endpoint: { type: 'string' },
      grant_types_supported: { type: 'array', items: { type: 'string' }, minItems: 1 },
      token_endpoint_auth_methods_supported: { type: 'array', items: { type: 'string' }, minItems: 1 },
      introspection_endpoint_auth_methods_supported: { type: 'array', items: { type: 'string' }, minItems: 1 },
      revocation_endpoint_auth_methods_supported: { type: 'array', items: { type: 'string' }, minItems: 1 },
      scopes_supported: { type: 'array', items: { type: 'string' }, minItems: 1 },
    },
  },
  Session: {
    type: 'object',
    required: ['sid', 'username', 'client_id', 'created_at', 'expires_at'],
    additionalProperties: false,
    properties: {
      sid: { type: 'string' },
      username: { type: 'string' },
      client_id: { type: 'string' },
      created_at: { type: 'integer', description: 'Epoch seconds.' },
      expires_at: { type: 'integer', description: 'Epoch seconds: the absolute end of the session.' },
      login_session: { type: 'string', description: 'The issuer login session it was opened through (the browser login).' },
    },
  },
  Health: {
    type: 'object',
    required: ['status'],
    additionalProperties: false,
    properties: { status: { const: 'ok' } },
  },
  Readiness: {
    oneOf: [
      { type: 'object', required: ['status'], additionalProperties: false, properties: { status: { const: 'ready' } } },
      {
        type: 'object',
        required: ['status', 'database', 'signing_key'],
        additionalProperties: false,
        properties: { status: { const: 'not_ready' }, database: { type: 'boolean' }, signing_key: { type: 'boolean' } },
      },
    ],
  },
  TokenRequest: {
    type: 'object',
    description: 'RFC 6749 §3.2: form-encoded; each parameter at most once; an empty value counts as omitted.',
    required: ['grant_type'],
    properties: {
      grant_type: { enum: ['authorization_code', 'password', 'refresh_token', 'client_credentials'] },
      code: { type: 'string', description: 'authorization_code: the code from the redirect (RFC 6749 §4.1.3).' },
      redirect_uri: { type: 'string', description: 'authorization_code: the redirect URI of the authorization request.' },
      code_verifier: { type: 'string', description: 'authorization_code: the PKCE verifier (RFC 7636 §4.5).' },
      username: { type: 'string' },
      password: { type: 'string' },
      refresh_token: { type: 'string' },
      scope: { type: 'string' },
      resource: { type: 'string', description: 'RFC 8707: one of the client\'s registered audiences.' },
      client_id: { type: 'string', description: 'client_secret_post, or a public client naming itself.' },
      client_secret: { type: 'string' },
    },
  },
  TokenOnlyRequest: {
    type: 'object',
    required: ['token'],
    properties: {
      token: { type: 'string' },
      token_type_hint: { type: 'string', description: 'Ignored: both kinds of token are recognised by their form.' },
      client_id: { type: 'string' },
      client_secret: { type: 'string' },
    },
  },
} as const;
