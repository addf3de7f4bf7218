/**
 * The fixtures of the browser-login tests (issue #14) on top of startWorld: clients that use the authorization
 * code flow, and shortcuts for a login through the browser agent and for redeeming the code.
 */
import { registerPublicClient } from '../../src/clients/register-public.js';
import { BrowserAgent, authorizeThrough, pkce, type AuthorizeParams } from './browser-agent.js';
import { alice, API, startWorld, type World } from './fixtures.js';
import { postForm, type Reply } from './http.js';

/** A first-party single-page app (public client). */
export const spa = { id: 'spa', origin: 'http://127.0.0.1:5173', redirectUri: 'http://127.0.0.1:5173/callback' } as const;
/** Another first-party SPA, for single sign-on. */
export const spa2 = { id: 'spa-2', origin: 'http://localhost:5174', redirectUri: 'http://localhost:5174/cb?app=2' } as const;
/** A first-party server-side web app (confidential client). */
export const web = { id: 'web', secret: 'web-0123456789abcdef0123456789abcdef', redirectUri: 'https://web.example.test/callback' } as const;
/** A third party: consent first. */
export const partner = { id: 'partner', redirectUri: 'https://partner.example.test/cb' } as const;

export interface BrowserWorld extends World {
  agent(): BrowserAgent;
  /** Logs `user` in through a new (or the given) browser at `client`; returns the code and its verifier. */
  codeFor(client: { id: string; redirectUri: string }, options?: { agent?: BrowserAgent; user?: { username: string; password: string } | null; scope?: string; extra?: Record<string, string> }): Promise<{
    code: string;
    verifier: string;
    location: URL;
    agent: BrowserAgent;
    seen: string[];
  }>;
  /** POST /token grant_type=authorization_code as `client` (public: client_id in the body; web: Basic). */
  redeem(client: { id: string; redirectUri: string; secret?: string }, code: string, verifier: string, extra?: Record<string, string>): Promise<Reply>;
}

export async function startBrowserWorld(options: Parameters<typeof startWorld>[0] = {}): Promise<BrowserWorld> {
  const world = await startWorld(options);
  const now = world.clock.now();
  try {
    await registerPublicClient(world.store, { id: spa.id, scope: 'read write', audiences: [API], redirectUris: [spa.redirectUri] }, now);
    await registerPublicClient(world.store, { id: spa2.id, scope: 'read', audiences: [API], redirectUris: [spa2.redirectUri] }, now);
    await world.createClient({ ...web, grantTypes: ['authorization_code', 'refresh_token'], scope: 'read write', audiences: [API], redirectUris: [web.redirectUri] });
    await registerPublicClient(world.store, { id: partner.id, scope: 'read write', audiences: [API], redirectUris: [partner.redirectUri], thirdParty: true }, now);
  } catch (error) {
    await world.close(); // a half-built world must not keep the test worker from exiting
    throw error;
  }

  const browserWorld: BrowserWorld = {
    ...world,
    agent: () => new BrowserAgent(world.api, world.issuer),
    async codeFor(client, codeOptions = {}) {
      const agent = codeOptions.agent ?? browserWorld.agent();
      const { verifier, challenge } = pkce();
      const params: AuthorizeParams = {
        clientId: client.id,
        redirectUri: client.redirectUri,
        challenge,
        state: `state-${Math.random().toString(36).slice(2)}`,
        ...(codeOptions.scope === undefined ? {} : { scope: codeOptions.scope }),
        ...(codeOptions.extra === undefined ? {} : { extra: codeOptions.extra }),
      };
      const user = codeOptions.user === null ? undefined : (codeOptions.user ?? alice);
      const { location, seen } = await authorizeThrough(agent, params, user);
      const code = location.searchParams.get('code');
      if (code === null) throw new Error(`no code: ${location.href}`);
      return { code, verifier, location, agent, seen };
    },
    redeem(client, code, verifier, extra = {}) {
      const form = { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier, ...extra };
      if (client.secret !== undefined) return postForm(`${world.api}/token`, form, { auth: [client.id, client.secret] });
      return postForm(`${world.api}/token`, { ...form, client_id: client.id });
    },
  };
  return browserWorld;
}
