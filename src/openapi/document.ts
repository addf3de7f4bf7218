/**
 * The OpenAPI 3.1 description of every HTTP endpoint, served at GET /openapi.json. It is built for the issuer's
 * own URL (the endpoints hang off the issuer's path, the metadata and the health checks do not), and every
 * response the test suite receives is validated against it (test/helpers/openapi.ts), so it cannot drift.
 *
 * Answers common to every path live in `components.responses`: a JSON 404 for a path no route has, a JSON 405
 * with Allow for a known path and another method, 204 with Allow for OPTIONS (or a CORS preflight on /token and
 * /revoke), and HEAD for every GET.
 */
import { schemas } from './schemas.js';

type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json) => ({ 'application/json': { schema } });
const header = (description: string, schema: Json = { type: 'string' }) => ({ description, required: true, schema });

const REQUEST_ID = { description: 'The request id: the caller\'s X-Request-Id when plausible, otherwise a new UUID.', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9._~:+/=-]{1,128}$' } };
const NO_STORE = header('RFC 6749 §5.1: no-store on everything that carries tokens or credentials.', { type: 'string', pattern: 'no-store' });
const PRAGMA = header('RFC 6749 §5.1 asks for it too.', { const: 'no-cache' });
const RETRY_AFTER = header('Seconds to wait before trying again.', { type: 'string', pattern: '^[1-9][0-9]*$' });

function error(description: string, headers: Json = {}): Json {
  return { description, headers: { 'X-Request-Id': REQUEST_ID, ...headers }, content: json(ref('OAuthError')) };
}

/** The errors every form endpoint (/token, /introspect, /revoke) may answer. */
function formEndpointErrors(): Json {
  const tokenHeaders = { 'Cache-Control': NO_STORE, Pragma: PRAGMA };
  return {
    '400': error('invalid_request (malformed form, repeated parameter, a parameter in the URI, two client authentication methods) or an endpoint-specific code.', tokenHeaders),
    '401': error('invalid_client: unknown client, wrong secret or none; always with a Basic challenge.', {
      ...tokenHeaders,
      'WWW-Authenticate': header('RFC 6749 §5.2 / RFC 7617: a Basic challenge.', { type: 'string', pattern: '^Basic realm="' }),
    }),
    '403': error('invalid_request: a browser request whose Origin is not registered for the client it names.', tokenHeaders),
    '413': error('invalid_request: the body is over 16 KiB.'),
    '429': error('temporarily_unavailable: too many failed attempts, or too many logins of this user or from this address at once.', { ...tokenHeaders, 'Retry-After': RETRY_AFTER }),
    '500': error('server_error: an unexpected fault (logged with the request id; nothing internal is answered).'),
    '503': error('temporarily_unavailable: the database cannot be reached, or the Argon2 line is full.', { 'Retry-After': RETRY_AFTER }),
  };
}

/** The RFC 6750 answers of the admin API. */
function bearerErrors(): Json {
  const challenge = header('RFC 6750 §3.', { type: 'string', pattern: '^Bearer realm="' });
  return {
    '400': error('invalid_request: a malformed Bearer header.', { 'WWW-Authenticate': challenge }),
    '401': error('No token, another scheme, or a token that is not active or not issued for the issuer.', { 'WWW-Authenticate': challenge }),
    '403': error('insufficient_scope: the token lacks gatehouse:admin.', { 'WWW-Authenticate': challenge }),
    '500': error('server_error.'),
    '503': error('temporarily_unavailable: the database cannot be reached.', { 'Retry-After': RETRY_AFTER }),
  };
}

const formBody = (schema: string) => ({ required: true, content: { 'application/x-www-form-urlencoded': { schema: ref(schema) } } });
/**
 * client_secret_basic is the one method OpenAPI can name; client_secret_post (client_id and client_secret in the
 * form) and a public client's client_id alone are described by the request body, hence the empty alternative.
 */
const clientAuth = [{ clientSecretBasic: [] }, {}];

export function openApiDocument(issuer: string): Json {
  const url = new URL(issuer);
  const base = url.pathname.replace(/\/$/, '');
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse',
      version: '0.1.0',
      summary: 'An OAuth 2.0 token issuer: RFC 9068 JWT access tokens, rotating refresh tokens, server-side sessions, introspection.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: url.origin }],
    paths: {
      [`${base}/token`]: {
        post: {
          summary: 'RFC 6749 §3.2: tokens for the password, refresh_token and client_credentials grants.',
          security: clientAuth,
          requestBody: formBody('TokenRequest'),
          responses: {
            '200': {
              description: 'The tokens. With an Origin registered for a public client, Access-Control-Allow-Origin names it.',
              headers: { 'X-Request-Id': REQUEST_ID, 'Cache-Control': NO_STORE, Pragma: PRAGMA },
              content: json(ref('TokenResponse')),
            },
            ...formEndpointErrors(),
          },
        },
      },
      [`${base}/introspect`]: {
        post: {
          summary: 'RFC 7662: whether a token is active right now, for a resource server among its audiences.',
          security: clientAuth,
          requestBody: formBody('TokenOnlyRequest'),
          responses: {
            '200': { description: 'The answer.', headers: { 'X-Request-Id': REQUEST_ID, 'Cache-Control': NO_STORE }, content: json(ref('IntrospectionResponse')) },
            ...formEndpointErrors(),
          },
        },
      },
      [`${base}/revoke`]: {
        post: {
          summary: 'RFC 7009: a refresh token ends its session (logout); an access token is revoked alone.',
          security: clientAuth,
          requestBody: formBody('TokenOnlyRequest'),
          responses: {
            '200': { description: 'Revoked, or not a live token of this client (RFC 7009 §2.2); no body.', headers: { 'X-Request-Id': REQUEST_ID, 'Cache-Control': NO_STORE } },
            ...formEndpointErrors(),
          },
        },
      },
      [`${base}/.well-known/jwks.json`]: {
        get: {
          summary: 'RFC 7517: the keys that verify access tokens.',
          responses: {
            '200': {
              description: 'The JWKS, cacheable for GATEHOUSE_JWKS_MAX_AGE seconds.',
              headers: { 'X-Request-Id': REQUEST_ID, 'Cache-Control': header('public, max-age=…', { type: 'string', pattern: '^public, max-age=\\d+$' }) },
              content: json(ref('Jwks')),
            },
          },
        },
      },
      [`/.well-known/oauth-authorization-server${base}`]: {
        get: {
          summary: 'RFC 8414: the authorization server metadata.',
          responses: {
            '200': { description: 'The metadata.', headers: { 'X-Request-Id': REQUEST_ID }, content: json(ref('AuthorizationServerMetadata')) },
            '503': error('temporarily_unavailable: the database cannot be reached.', { 'Retry-After': RETRY_AFTER }),
          },
        },
      },
      [`${base}/admin/users/{username}/sessions`]: {
        parameters: [{ name: 'username', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          summary: "A user's live sessions.",
          security: [{ adminToken: [] }],
          responses: {
            '200': { description: 'Live sessions, oldest first.', headers: { 'X-Request-Id': REQUEST_ID, 'Cache-Control': NO_STORE }, content: json({ type: 'array', items: ref('Session') }) },
            '404': error('not_found: no such user.'),
            ...bearerErrors(),
          },
        },
        delete: {
          summary: "Ends every session of the user: every resource server refuses its tokens at the next request.",
          security: [{ adminToken: [] }],
          responses: { '204': { description: 'Ended (also when there was none).', headers: { 'X-Request-Id': REQUEST_ID } }, '404': error('not_found: no such user.'), ...bearerErrors() },
        },
      },
      [`${base}/admin/sessions/{sid}`]: {
        parameters: [{ name: 'sid', in: 'path', required: true, schema: { type: 'string' } }],
        delete: {
          summary: 'Ends one session.',
          security: [{ adminToken: [] }],
          responses: { '204': { description: 'Ended (also when it had ended already).', headers: { 'X-Request-Id': REQUEST_ID } }, '404': error('not_found: no such session.'), ...bearerErrors() },
        },
      },
      '/healthz': {
        get: { summary: 'The process answers.', responses: { '200': { description: 'Alive.', headers: { 'X-Request-Id': REQUEST_ID, 'Cache-Control': NO_STORE }, content: json(ref('Health')) } } },
      },
      '/readyz': {
        get: {
          summary: 'This instance can serve: the database answers and a signing key is loaded (for load balancers).',
          responses: {
            '200': { description: 'Ready.', headers: { 'X-Request-Id': REQUEST_ID, 'Cache-Control': NO_STORE }, content: json(ref('Readiness')) },
            '503': { description: 'Not ready; it recovers by itself.', headers: { 'X-Request-Id': REQUEST_ID, 'Retry-After': RETRY_AFTER }, content: json(ref('Readiness')) },
          },
        },
      },
      '/openapi.json': {
        get: { summary: 'This document.', responses: { '200': { description: 'OpenAPI 3.1.', headers: { 'X-Request-Id': REQUEST_ID }, content: json({ type: 'object', required: ['openapi', 'paths'] }) } } },
      },
    },
    components: {
      schemas,
      responses: {
        NotFound: error('not_found: no route has this path (any method).'),
        MethodNotAllowed: error('method_not_allowed: the path exists with other methods (RFC 9110 §15.5.6).', { Allow: header('The methods the path has.') }),
        Options: { description: 'OPTIONS on any known path: the methods (RFC 9110 §9.3.7); or a CORS preflight on /token and /revoke from a registered origin.', headers: { 'X-Request-Id': REQUEST_ID } },
      },
      securitySchemes: {
        clientSecretBasic: {
          type: 'http',
          scheme: 'basic',
          description: 'RFC 6749 §2.3.1: client id and secret form-urlencoded, then base64. Or client_secret_post: both in the form body (never the URI); a public client sends client_id alone.',
        },
        adminToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A client_credentials token with scope gatehouse:admin and aud = the issuer.' },
      },
    },
  };
}
