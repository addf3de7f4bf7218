/** The path of the issuer URL without a trailing slash: '' for https://host, '/tenant' for https://host/tenant. */
export function issuerPath(issuer: string): string {
  return new URL(issuer).pathname.replace(/\/$/, '');
}
