/**
 * The fixtures of ../shared/standards.md §0: conf-A, conf-B, rs-1, odd:client and alice, on a started issuer,
 * with shortcuts for the requests most tests make.
 */
import { postForm, type Reply } from './http.js';
import { startIssuer, type Issuer } from './issuer.js';

export const API = 'https://api.example.test';
export const OTHER_API = 'https://other.example.test';

export const confA = { id: 'conf-A', secret: 'sA-0123456789abcdef0123456789abcdef' } as const;
export const confB = { id: 'conf-B', secret: 'sB-0123456789abcdef0123456789abcdef' } as const;
export const rs1 = { id: 'rs-1', secret: 'rs1-0123456789abcdef0123456789abcdef' } as const;
/** An introspecting client for another API: it must never see API's tokens. */
export const rs2 = { id: 'rs-2', secret: 'rs2-0123456789abcdef0123456789abcdef' } as const;
export const odd = { id: 'odd:client', secret: 'p%+&=ss-0123456789abcdef0123456789ab' } as const;
export const admin = { id: 'admin', secret: 'admin-0123456789abcdef0123456789abcdef' } as const;
export const alice = { username: 'alice', password: 'correct-horse' } as const;
export const bob = { username: 'bob', password: 'battery-staple' } as const;

export type Auth = readonly [string, string];
export const auth = (client: { id: string; secret: string }): Auth => [client.id, client.secret];

export interface World extends Issuer {
  aliceSub: string;
  bobSub: string;
  token(form: Record<string, string>, client?: { id: string; secret: string }): Promise<Reply>;
  login(user?: { username: string; password: string }, extra?: Record<string, string>): Promise<{ access: string; refresh: string; body: any }>;
  refresh(refreshToken: string, extra?: Record<string, string>, client?: { id: string; secret: string }): Promise<Reply>;
  introspect(token: string, caller?: { id: string; secret: string }, extra?: Record<string, string>): Promise<Reply>;
  revoke(token: string, client?: { id: string; secret: string }, extra?: Record<string, string>): Promise<Reply>;
  adminToken(): Promise<string>;
}

export async function startWorld(options: Parameters<typeof startIssuer>[0] = {}): Promise<World> {
  const issuer = await startIssuer(options);
  try {
    return await populate(issuer);
  } catch (error) {
    await issuer.close(); // a half-built world must not keep the test worker from exiting
    throw error;
  }
}

async function populate(issuer: Issuer): Promise<World> {
  await issuer.createClient({ ...confA, grantTypes: ['password', 'refresh_token', 'client_credentials'], scope: 'read write', audiences: [API] });
  await issuer.createClient({ ...confB, grantTypes: ['client_credentials'], scope: 'read write admin', audiences: [API, OTHER_API] });
  await issuer.createClient({ ...rs1, audiences: [API], introspect: true });
  await issuer.createClient({ ...rs2, audiences: [OTHER_API], introspect: true });
  await issuer.createClient({ ...odd, grantTypes: ['client_credentials'], scope: 'read', audiences: [API] });
  await issuer.createClient({ ...admin, grantTypes: ['client_credentials'], scope: 'gatehouse:admin' });
  const aliceUser = await issuer.createUser(alice.username, alice.password);
  const bobUser = await issuer.createUser(bob.username, bob.password);

  const world: World = {
    ...issuer,
    aliceSub: aliceUser.id,
    bobSub: bobUser.id,
    token: (form, client = confA) => postForm(`${issuer.api}/token`, form, { auth: auth(client) }),
    async login(user = alice, extra = {}) {
      const reply = await world.token({ grant_type: 'password', username: user.username, password: user.password, ...extra });
      if (reply.status !== 200) throw new Error(`login failed: ${reply.status} ${reply.text}`);
      return { access: reply.json.access_token, refresh: reply.json.refresh_token, body: reply.json };
    },
    refresh: (refreshToken, extra = {}, client = confA) => world.token({ grant_type: 'refresh_token', refresh_token: refreshToken, ...extra }, client),
    introspect: (token, caller = rs1, extra = {}) => postForm(`${issuer.api}/introspect`, { token, ...extra }, { auth: auth(caller) }),
    revoke: (token, client = confA, extra = {}) => postForm(`${issuer.api}/revoke`, { token, ...extra }, { auth: auth(client) }),
    async adminToken() {
      const reply = await world.token({ grant_type: 'client_credentials' }, admin);
      if (reply.status !== 200) throw new Error(`admin token failed: ${reply.status} ${reply.text}`);
      return reply.json.access_token as string;
    },
  };
  return world;
}
