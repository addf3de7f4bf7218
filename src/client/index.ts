/**
 * `gatehouse/client`: a self-renewing fetch for apps that call APIs protected by Gatehouse, in browsers and in
 * Node (fetch and standard APIs only).
 *
 *   const api = createGatehouseClient({ tokenEndpoint: 'https://auth.example.com/token', clientId: 'web' });
 *   await api.login('alice', password);
 *   const response = await api.fetch('https://api.example.com/notes');   // renews and retries once on 401
 */
export { createGatehouseClient, type GatehouseClient, type GatehouseClientOptions, type LoginOptions } from './client.js';
export {
  GatehouseClientError,
  LoginFailedError,
  NotLoggedInError,
  SessionEndedError,
  TokenEndpointError,
  TokenRejectedError,
} from './errors.js';
export type { TokenSet } from './token-endpoint.js';
