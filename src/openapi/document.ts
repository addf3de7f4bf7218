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

/** The answers of the Shared Signals API that are not successes: RFC 6750 for the token, OAuth error bodies for the rest. */
function ssfErrors(): Json {
  const challenge = (required: boolean) => ({ ...header('RFC 6750 §3.', { type: 'string', pattern: '^Bearer realm="' }), required });
  const noStore = { 'Cache-Control': NO_STORE };
  return {
    '400': error('invalid_request: a malformed Bearer header (with a challenge), or a body that is not a valid request (not JSON, not an object, a wrong member).', { ...noStore, 'WWW-Authenticate': challenge(false) }),
    '401': error('No token, another scheme, or a token that is not active or not issued for the issuer.', { ...noStore, 'WWW-Authenticate': challenge(true) }),
    '403': error('insufficient_scope: the token lacks ssf.manage (or ssf.read); access_denied: the client is not a registered receiver.', { ...noStore, 'WWW-Authenticate': challenge(false) }),
    '404': error('not_found: no such stream (or another receiver\'s).', noStore),
    '413': error('invalid_request: the body is over 16 KiB.'),
    '500': error('server_error.'),
    '503': error('temporarily_unavailable: the database cannot be reached.', { 'Retry-After': RETRY_AFTER }),
  };
}

const PAGE_HEADERS = {
  'X-Request-Id': REQUEST_ID,
  'Content-Security-Policy': header("default-src 'none'; the style by hash; form-action the issuer and the redirect origin; frame-ancestors 'none'.", { type: 'string', pattern: "default-src 'none'" }),
  'X-Content-Type-Options': header('nosniff', { const: 'nosniff' }),
  'Referrer-Policy': header('no-referrer', { const: 'no-referrer' }),
  'Cache-Control': NO_STORE,
};

/**
 * The answers of the browser's routes (authorize, login, consent, logout): HTML pages, errors included (a user
 * reads them, not a program), and 303 See Other to a registered redirect URI with the authorization response.
 */
function pageResponses(): Json {
  const page = (description: string) => ({ description, headers: PAGE_HEADERS, content: { 'text/html': { schema: { type: 'string' } } } });
  return {
    '200': page('A page: the login form, the consent form, the logout question or its result.'),
    '303': {
      description: 'To the registered redirect URI with code (or error), state and iss (RFC 6749 §4.1.2, RFC 9207); or back to the app after a logout.',
      headers: { 'X-Request-Id': REQUEST_ID, Location: header('Where the browser goes next.') },
    },
    '400': page('The request or the form is not valid: shown, never redirected to an unregistered URI (RFC 6749 §4.1.2.1); or the form again with its error.'),
    '403': page('A form that does not come from this browser\'s page on the issuer (CSRF), or from another origin.'),
    '404': page('No such client.'),
    '413': page('The form is over 16 KiB.'),
    '429': { ...page('Too many attempts: the login form again, with the wait.'), headers: { ...PAGE_HEADERS, 'Retry-After': RETRY_AFTER } },
    '500': page('An unexpected fault (logged with the request id).'),
    '503': page('The database cannot be reached, or too many logins are being checked.'),
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
      [`${base}/authorize`]: {
        get: {
          summary: 'RFC 6749 §4.1.1: response_type=code with PKCE (S256), for a registered redirect URI; a login page, single sign-on, consent.',
          parameters: ['response_type', 'client_id', 'redirect_uri', 'code_challenge', 'code_challenge_method', 'state', 'scope', 'resource', 'prompt', 'max_age'].map((name) => ({
            name,
            in: 'query',
            required: ['response_type', 'client_id', 'redirect_uri', 'code_challenge', 'code_challenge_method'].includes(name),
            schema: { type: 'string' },
          })),
          responses: pageResponses(),
        },
      },
      [`${base}/login`]: {
        post: { summary: 'The login form of a pending authorization request (the issuer\'s own page).', requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: { type: 'object' } } } }, responses: pageResponses() },
      },
      [`${base}/consent`]: {
        post: { summary: 'The consent form of a third-party client.', requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: { type: 'object' } } } }, responses: pageResponses() },
      },
      [`${base}/logout`]: {
        get: { summary: 'Asks whether to log out of the issuer (and so of every app).', responses: pageResponses() },
        post: { summary: 'Ends the login session of this browser and every session opened through it.', requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: { type: 'object' } } } }, responses: pageResponses() },
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
      [`/.well-known/ssf-configuration${base}`]: {
        get: {
          summary: 'OpenID SSF 1.0 §7: the Shared Signals transmitter configuration metadata.',
          responses: {
            '200': { description: 'The metadata.', headers: { 'X-Request-Id': REQUEST_ID }, content: json(ref('SsfConfiguration')) },
          },
        },
      },
      [`${base}/ssf/streams`]: {
        post: {
          summary: 'SSF 1.0 §8.1.1.1: creates a stream (poll delivery) for the calling receiver; ssf.manage.',
          security: [{ receiverToken: ['ssf.manage'] }],
          requestBody: { required: true, content: json(ref('StreamSettings')) },
          responses: { '201': { description: 'The stream.', headers: { 'X-Request-Id': REQUEST_ID, 'Cache-Control': NO_STORE }, content: json(ref('StreamConfiguration')) }, ...ssfErrors() },
        },
        get: {
          summary: 'SSF 1.0 §8.1.1.2: one stream (stream_id) or all of the receiver\'s; ssf.read or ssf.manage.',
          security: [{ receiverToken: ['ssf.read'] }],
          parameters: [{ name: 'stream_id', in: 'query', required: false, schema: { type: 'string' } }],
          responses: {
            '200': {
              description: 'The stream, or an array of streams without stream_id.',
              headers: { 'X-Request-Id': REQUEST_ID, 'Cache-Control': NO_STORE },
              content: json({ oneOf: [ref('StreamConfiguration'), { type: 'array', items: ref('StreamConfiguration') }] }),
            },
            ...ssfErrors(),
          },
        },
        patch: {
          summary: 'SSF 1.0 §8.1.1.3: changes the receiver-supplied properties given; ssf.manage.',
          security: [{ receiverToken: ['ssf.manage'] }],
          requestBody: { required: true, content: json(ref('StreamSettings')) },
          responses: { '200': { description: 'The stream as it is now.', headers: { 'X-Request-Id': REQUEST_ID, 'Cache-Control': NO_STORE }, content: json(ref('StreamConfiguration')) }, ...ssfErrors() },
        },
        put: {
          summary: 'SSF 1.0 §8.1.1.4: replaces the receiver-supplied properties; ssf.manage.',
          security: [{ receiverToken: ['ssf.manage'] }],
          requestBody: { required: true, content: json(ref('StreamSettings')) },
          responses: { '200': { description: 'The stream as it is now.', headers: { 'X-Request-Id': REQUEST_ID, 'Cache-Control': NO_STORE }, content: json(ref('StreamConfiguration')) }, ...ssfErrors() },
        },
        delete: {
          summary: 'SSF 1.0 §8.1.1.5: deletes a stream and what it still owed; ssf.manage.',
          security: [{ receiverToken: ['ssf.manage'] }],
          parameters: [{ name: 'stream_id', in: 'query', required: true, schema: { type: 'string' } }],
          responses: { '204': { description: 'Deleted.', headers: { 'X-Request-Id': REQUEST_ID, 'Cache-Control': NO_STORE } }, ...ssfErrors() },
        },
      },
      [`${base}/ssf/status`]: {
        get: {
          summary: 'SSF 1.0 §8.1.2.1: the status of a stream; ssf.read or ssf.manage.',
          security: [{ receiverToken: ['ssf.read'] }],
          parameters: [{ name: 'stream_id', in: 'query', required: true, schema: { type: 'string' } }],
          responses: { '200': { description: 'The status.', headers: { 'X-Request-Id': REQUEST_ID, 'Cache-Control': NO_STORE }, content: json(ref('StreamStatus')) }, ...ssfErrors() },
        },
        post: {
          summary: 'SSF 1.0 §8.1.2.2: enables, pauses (events held) or disables (events dropped) a stream; ssf.manage.',
          security: [{ receiverToken: ['ssf.manage'] }],
          requestBody: { required: true, content: json(ref('StreamStatus')) },
          responses: { '200': { description: 'The status as it is now.', headers: { 'X-Request-Id': REQUEST_ID, 'Cache-Control': NO_STORE }, content: json(ref('StreamStatus')) }, ...ssfErrors() },
        },
      },
      [`${base}/ssf/verify`]: {
        post: {
          summary: 'SSF 1.0 §8.1.4.2: asks for a verification event carrying `state` on the stream; ssf.manage.',
          security: [{ receiverToken: ['ssf.manage'] }],
          requestBody: { required: true, content: json({ type: 'object', required: ['stream_id'], properties: { stream_id: { type: 'string' }, state: { type: 'string' } } }) },
          responses: { '204': { description: 'The event is on its way.', headers: { 'X-Request-Id': REQUEST_ID, 'Cache-Control': NO_STORE } }, ...ssfErrors() },
        },
      },
      [`${base}/ssf/subjects/add`]: {
        post: {
          summary: 'SSF 1.0 §8.1.3.2: events about this subject are delivered again (streams carry every subject by default); ssf.manage.',
          security: [{ receiverToken: ['ssf.manage'] }],
          requestBody: { required: true, content: json(ref('SubjectRequest')) },
          responses: { '200': { description: 'Added; no body.', headers: { 'X-Request-Id': REQUEST_ID, 'Cache-Control': NO_STORE } }, ...ssfErrors() },
        },
      },
      [`${base}/ssf/subjects/remove`]: {
        post: {
          summary: 'SSF 1.0 §8.1.3.3: no more events about this subject on the stream; ssf.manage.',
          security: [{ receiverToken: ['ssf.manage'] }],
          requestBody: { required: true, content: json(ref('SubjectRequest')) },
          responses: { '204': { description: 'Removed.', headers: { 'X-Request-Id': REQUEST_ID, 'Cache-Control': NO_STORE } }, ...ssfErrors() },
        },
      },
      [`${base}/ssf/poll/{stream_id}`]: {
        parameters: [{ name: 'stream_id', in: 'path', required: true, schema: { type: 'string' } }],
        post: {
          summary: 'RFC 8936: acknowledges SETs and returns those the stream still owes; a long poll unless returnImmediately; ssf.read or ssf.manage.',
          security: [{ receiverToken: ['ssf.read'] }],
          requestBody: { required: true, content: json(ref('PollRequest')) },
          responses: { '200': { description: 'SETs by jti (none after GATEHOUSE_SSF_POLL_WAIT_SECONDS).', headers: { 'X-Request-Id': REQUEST_ID, 'Cache-Control': NO_STORE }, content: json(ref('PollResponse')) }, ...ssfErrors() },
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
        receiverToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A client_credentials token of a --receiver client, aud = the issuer, with ssf.manage (or ssf.read to read and poll).',
        },
      },
    },
  };
}
