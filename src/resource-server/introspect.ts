/** POST /introspect (RFC 7662 §2) with this API's own client credentials. */
import { IssuerMisconfigured, IssuerUnavailable } from './errors.js';
import type { IssuerHttp } from './issuer-http.js';

export interface IntrospectionCredentials {
  clientId: string;
  clientSecret: string;
}

/** RFC 7662 §2.2: only `active` is required. */
export type IntrospectionAnswer = { active: boolean } & Record<string, unknown>;

/** application/x-www-form-urlencoded, as RFC 6749 §2.3.1 asks for the id and secret before Basic. */
const formEncode = (value: string): string => new URLSearchParams({ v: value }).toString().slice(2);

export function basicAuthorization(credentials: IntrospectionCredentials): string {
  return `Basic ${Buffer.from(`${formEncode(credentials.clientId)}:${formEncode(credentials.clientSecret)}`).toString('base64')}`;
}

export async function introspect(http: IssuerHttp, endpoint: string, credentials: IntrospectionCredentials, token: string): Promise<IntrospectionAnswer> {
  const reply = await http.send(endpoint, {
    method: 'POST',
    headers: {
      authorization: basicAuthorization(credentials),
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
  });
  if (reply.status >= 500 || reply.status === 429) throw new IssuerUnavailable(`introspection answered ${reply.status}`);
  // 400 (a malformed request) and 413 (too large): what made the request unacceptable is the token the caller
  // sent, since everything else in it is this API's own. That token is not active, and nothing is misconfigured.
  if (reply.status === 400 || reply.status === 413) return { active: false };
  // 401 invalid_client, a 404 or 405 from a wrong endpoint: this API's own credentials or configuration are
  // wrong, not the caller's token.
  if (reply.status !== 200) throw new IssuerMisconfigured(`introspection answered ${reply.status}`);
  let answer: unknown;
  try {
    answer = JSON.parse(reply.body);
  } catch {
    throw new IssuerMisconfigured('introspection answer is not JSON');
  }
  if (typeof answer !== 'object' || answer === null || typeof (answer as { active?: unknown }).active !== 'boolean') {
    throw new IssuerMisconfigured('introspection answer has no boolean "active"');
  }
  return answer as IntrospectionAnswer;
}
