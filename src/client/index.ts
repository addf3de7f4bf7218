/**
 * `gatehouse/client`: a self-renewing fetch for apps that call APIs protected by Gatehouse, in browsers and in
 * Node (fetch and standard APIs only).
 *
 *   const api = createGatehouseClient({ tokenEndpoint, authorizationEndpoint, issuer, redirectUri, clientId: 'web',
 *     apiOrigins: ['https://api.example.com'] });
 *   location.assign(await api.startLogin());            // to the issuer's login page
 *   await api.completeLogin();                          // back on the redirect URI
 *   const response = await api.fetch('https://api.example.com/notes');   // renews and retries once on 401
 */
export { createGatehouseClient, type GatehouseClient, type GatehouseClientOptions, type LoginOptions } from './client.js';
export type { LoginStorage, StartLoginOptions } from './authorization.js';
export {
  AuthorizationError,
  GatehouseClientError,
  LoginResponseError,
  LoginFailedError,
  NotLoggedInError,
  SessionEndedError,
  TokenEndpointError,
  TokenRejectedError,
} from './errors.js';
export type { TokenSet } from './token-endpoint.js';
