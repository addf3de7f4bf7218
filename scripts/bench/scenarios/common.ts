/** What the scenarios send and how they check an answer is the right one (a 2xx with the wrong body is an error). */
import type { Issuer } from '../issuer.js';
import type { ConnectionState } from '../load.js';

export const FORM = 'application/x-www-form-urlencoded';
export const isActive = (body: string) => body.includes('"active":true');
export const hasAccessToken = (body: string) => body.includes('"access_token":"');

/**
 * One connection's refresh-token chain: every answer's refresh token is the next request's; a chain that breaks
 * (a non-200, or no token in the answer) is replaced by a spare, and `broke` is told.
 */
export function refreshChain(issuer: Issuer, broke: () => void): ConnectionState {
  let token = issuer.takeChain();
  if (token === undefined) throw new Error('no refresh-token chain left');
  return {
    next: () => `grant_type=refresh_token&refresh_token=${token}`,
    onResponse(status, body) {
      const rotated = status === 200 ? /"refresh_token":"([A-Za-z0-9_-]+)"/.exec(body)?.[1] : undefined;
      if (rotated) {
        token = rotated;
      } else {
        broke();
        token = issuer.takeChain() ?? token; // the chain is dead: continue on a spare one
      }
    },
  };
}

export const hasRefreshToken = (body: string) => body.includes('"refresh_token":"');
