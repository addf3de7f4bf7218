/** Reading a resource server's refusal: is it RFC 6750's 401 invalid_token, the one a renewal can fix? */

const BEARER_SCHEME = /(?:^|,)\s*Bearer(?:\s|$)/i;
const INVALID_TOKEN = /(?:^|[\s,])error\s*=\s*(?:"invalid_token"|invalid_token(?:[\s,]|$))/i;

/**
 * RFC 6750 §3.1: invalid_token — "The client MAY request a new access token and retry the protected resource
 * request." A browser reads WWW-Authenticate cross-origin only if the API exposes it
 * (Access-Control-Expose-Headers), so a JSON body `{"error":"invalid_token"}` counts as well.
 */
export async function isInvalidToken(response: Response): Promise<boolean> {
  if (response.status !== 401) return false;
  const challenge = response.headers.get('www-authenticate');
  if (challenge !== null) return BEARER_SCHEME.test(challenge) && INVALID_TOKEN.test(challenge);
  if (!/^application\/json/i.test(response.headers.get('content-type') ?? '')) return false;
  try {
    const body: unknown = await response.clone().json();
    return typeof body === 'object' && body !== null && (body as { error?: unknown }).error === 'invalid_token';
  } catch {
    return false;
  }
}
