/** The Bearer token of a request: from the Authorization header, and from nowhere else. */
import type { IncomingMessage } from 'node:http';

export type BearerCredentials =
  | { kind: 'none' }
  | { kind: 'malformed'; description: string }
  | { kind: 'token'; token: string };

/** RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * RFC 6750 §2.3 ("SHOULD NOT be used") and OAuth 2.1 ("MUST ignore access tokens in a URI query parameter"): a
 * token in the query is not looked at, so such a request counts as one without credentials. The form-body
 * method (§2.2) is not offered either.
 */
export function readBearerCredentials(req: IncomingMessage): BearerCredentials {
  // Node keeps only the first Authorization header in req.headers; headersDistinct shows every one.
  const values = req.headersDistinct.authorization ?? [];
  if (values.length === 0) return { kind: 'none' };
  // RFC 6750 §3.1 invalid_request: "uses more than one method for including an access token".
  if (values.length > 1) return { kind: 'malformed', description: 'Send one Authorization header' };
  const value = values[0]!;
  // RFC 9110 §11.1: the scheme is case-insensitive. Another scheme is a request without Bearer credentials (RFC 6750 §3).
  if (!/^bearer(\s|$)/i.test(value)) return { kind: 'none' };
  const match = BEARER.exec(value);
  if (!match) return { kind: 'malformed', description: 'The Bearer credentials are empty or malformed' };
  return { kind: 'token', token: match[1]! };
}
