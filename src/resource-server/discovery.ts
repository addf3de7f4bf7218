/** The issuer's metadata (RFC 8414), fetched once: it names the introspection endpoint. */
import { IssuerMisconfigured, IssuerUnavailable } from './errors.js';
import type { IssuerHttp } from './issuer-http.js';

export interface IssuerMetadata {
  issuer: string;
  introspectionEndpoint: string;
  /** Event mode gets its receiver token there. */
  tokenEndpoint: string | undefined;
}

/**
 * RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path, so https://host/tenant has
 * its metadata at https://host/.well-known/oauth-authorization-server/tenant.
 */
export function metadataUrl(issuer: string): string {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname;
  return `${url.origin}/.well-known/oauth-authorization-server${path}`;
}

export async function fetchMetadata(http: IssuerHttp, issuer: string): Promise<IssuerMetadata> {
  const reply = await http.send(metadataUrl(issuer), { method: 'GET', headers: { accept: 'application/json' } });
  if (reply.status >= 500 || reply.status === 429) throw new IssuerUnavailable(`metadata answered ${reply.status}`);
  if (reply.status !== 200) throw new IssuerMisconfigured(`metadata answered ${reply.status}`);
  let metadata: Record<string, unknown>;
  try {
    metadata = JSON.parse(reply.body) as Record<string, unknown>;
  } catch {
    throw new IssuerMisconfigured('metadata is not JSON');
  }
  // RFC 8414 §3.3: "The "issuer" value returned MUST be identical to the authorization server's issuer identifier
  // value into which the well-known URI string was inserted to create the URL used to retrieve the metadata."
  if (metadata.issuer !== issuer) throw new IssuerMisconfigured(`metadata names issuer ${JSON.stringify(metadata.issuer)}, not ${issuer}`);
  const endpoint = metadata.introspection_endpoint;
  if (typeof endpoint !== 'string' || !URL.canParse(endpoint)) throw new IssuerMisconfigured('metadata has no introspection_endpoint');
  const tokenEndpoint = typeof metadata.token_endpoint === 'string' && URL.canParse(metadata.token_endpoint) ? metadata.token_endpoint : undefined;
  return { issuer, introspectionEndpoint: endpoint, tokenEndpoint };
}

/** One discovery shared by every request; a failed one is forgotten, so the next request tries again. */
export function discoverOnce(http: IssuerHttp, issuer: string): () => Promise<IssuerMetadata> {
  let pending: Promise<IssuerMetadata> | undefined;
  return () => {
    pending ??= fetchMetadata(http, issuer).catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
