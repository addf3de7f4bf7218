/**
 * A browser without a browser, for the black-box tests of /authorize, /login, /consent and /logout: a cookie jar,
 * redirects not followed (the test looks at each Location), and form posts that carry what a browser sends with
 * a form posted from the issuer's own page (Origin, Sec-Fetch-Site). The real browser is test/browser/.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Reply } from './http.js';

export interface PageReply extends Reply {
  location: string | undefined;
  setCookies: string[];
}

/** RFC 7636 §4.1/§4.2: a 256-bit verifier and its S256 challenge. */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The hidden inputs of the first form of a page, by name. */
export function hiddenInputs(page: string): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const [tag] of page.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]*)"/.exec(tag)?.[1];
    const value = /value="([^"]*)"/.exec(tag)?.[1];
    if (name !== undefined) inputs[name] = (value ?? '').replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code)));
  }
  return inputs;
}

/** What the page shows: a login form, a consent form, a logout form, or something else. */
export function pageKind(reply: PageReply): 'login' | 'consent' | 'logout' | 'redirect' | 'other' {
  if (reply.status === 303) return 'redirect';
  if (/name="password"/.test(reply.text)) return 'login';
  if (/name="decision"/.test(reply.text)) return 'consent';
  if (/name="csrf"/.test(reply.text)) return 'logout';
  return 'other';
}

export class BrowserAgent {
  readonly cookies = new Map<string, string>();

  /** `base`: where requests go (http://127.0.0.1:port); `issuer`: the issuer identifier, whose origin forms carry. */
  constructor(
    readonly base: string,
    readonly issuer: string,
  ) {}

  private cookieHeader(): Record<string, string> {
    return this.cookies.size === 0 ? {} : { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
  }

  private async send(url: string, init: RequestInit): Promise<PageReply> {
    const response = await fetch(url, { ...init, redirect: 'manual' });
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair = ''] = line.split(';');
      const equals = pair.indexOf('=');
      const name = pair.slice(0, equals).trim();
      if (/;\s*Max-Age=0(;|$)/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(equals + 1).trim());
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, json, text, location: response.headers.get('location') ?? undefined, setCookies };
  }

  private url(pathOrUrl: string): string {
    if (/^https?:/.test(pathOrUrl)) {
      // The issuer's own URLs (http://localhost:port/…) go to where it listens.
      const url = new URL(pathOrUrl);
      return url.origin === new URL(this.issuer).origin ? `${new URL(this.base).origin}${url.pathname}${url.search}` : pathOrUrl;
    }
    return `${this.base}${pathOrUrl}`;
  }

  /** A top-level navigation: a GET with the browser's cookies. */
  get(pathOrUrl: string, headers: Record<string, string> = {}): Promise<PageReply> {
    return this.send(this.url(pathOrUrl), { headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', ...this.cookieHeader(), ...headers } });
  }

  /** A form posted from the issuer's own page (override `headers` to post it from elsewhere). */
  post(pathOrUrl: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<PageReply> {
    return this.send(this.url(pathOrUrl), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: new URL(this.issuer).origin,
        'sec-fetch-site': 'same-origin',
        ...this.cookieHeader(),
        ...headers,
      },
      body: new URLSearchParams(form).toString(),
    });
  }
}

export interface AuthorizeParams {
  clientId: string;
  redirectUri: string;
  challenge: string;
  state?: string;
  scope?: string;
  extra?: Record<string, string>;
}

export function authorizePath(params: AuthorizeParams): string {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: params.clientId,
    redirect_uri: params.redirectUri,
    code_challenge: params.challenge,
    code_challenge_method: 'S256',
    ...(params.state === undefined ? {} : { state: params.state }),
    ...(params.scope === undefined ? {} : { scope: params.scope }),
    ...params.extra,
  });
  return `/authorize?${query}`;
}

/**
 * Drives one authorization request to its redirect back to the client: logs in with `user` if the login form
 * comes, answers the consent form with `consent` if it comes. Returns the final redirect and the pages seen.
 */
export async function authorizeThrough(
  agent: BrowserAgent,
  params: AuthorizeParams,
  user?: { username: string; password: string },
  consent: 'allow' | 'deny' = 'allow',
): Promise<{ location: URL; seen: Array<ReturnType<typeof pageKind>> }> {
  const seen: Array<ReturnType<typeof pageKind>> = [];
  let reply = await agent.get(authorizePath(params));
  for (let step = 0; step < 4; step++) {
    const kind = pageKind(reply);
    seen.push(kind);
    if (kind === 'redirect') return { location: new URL(reply.location!), seen };
    if (kind === 'login' && user) {
      reply = await agent.post('/login', { ...hiddenInputs(reply.text), username: user.username, password: user.password });
    } else if (kind === 'consent') {
      reply = await agent.post('/consent', { ...hiddenInputs(reply.text), decision: consent });
    } else {
      throw new Error(`unexpected ${reply.status} page: ${reply.text.slice(0, 300)}`);
    }
  }
  throw new Error('too many pages');
}
