/**
 * The issuer's two cookies, written by hand (Koa's cookie helper refuses Secure on a plain-http request, which is
 * what an issuer behind a TLS-terminating proxy receives):
 *
 * - the login cookie: the issuer login session (single sign-on), an opaque 256-bit value whose SHA-256 names the
 *   login_sessions row;
 * - the browser cookie: a random value that binds a pending login or consent form to the browser that opened it
 *   (login CSRF), stored only as a hash with the pending request.
 *
 * Both are HttpOnly (no script reads them) and SameSite=Lax: sent on the top-level GET navigation that brings a
 * user from an app to /authorize (so a second app gets its code without the password), never on a cross-site
 * POST. Secure whenever the issuer is https; a loopback http issuer (development, the tests) cannot set Secure
 * cookies in every browser, so there they go without it. With an https issuer at the root of its host the names
 * carry the `__Host-` prefix (Secure, Path=/, no Domain: no other host can set or shadow them); with a path,
 * `__Secure-` and the issuer's path, so that tenants on one host keep apart.
 */
import type { Context } from 'koa';

export interface CookieSpec {
  login: string;
  browser: string;
  path: string;
  secure: boolean;
}

export function cookieSpec(issuer: string): CookieSpec {
  const url = new URL(issuer);
  const secure = url.protocol === 'https:';
  const path = url.pathname.replace(/\/$/, '') || '/';
  const prefix = !secure ? '' : path === '/' ? '__Host-' : '__Secure-';
  return { login: `${prefix}gatehouse_login`, browser: `${prefix}gatehouse_browser`, path, secure };
}

/** The value of a cookie the request carries (the first, if the browser sent several), or undefined. */
export function readCookie(ctx: Context, name: string): string | undefined {
  for (const pair of ctx.get('cookie').split(';')) {
    const equals = pair.indexOf('=');
    if (equals !== -1 && pair.slice(0, equals).trim() === name) {
      const value = pair.slice(equals + 1).trim();
      // Gatehouse's cookie values are base64url; anything else was not set by it.
      return /^[A-Za-z0-9_-]{1,100}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

/** Appends a Set-Cookie; `maxAgeSeconds` undefined = a cookie for the browser session, 0 = delete it. */
export function writeCookie(ctx: Context, spec: CookieSpec, name: string, value: string, maxAgeSeconds?: number): void {
  const attributes = [`${name}=${value}`, `Path=${spec.path}`, 'HttpOnly', 'SameSite=Lax'];
  if (spec.secure) attributes.push('Secure');
  if (maxAgeSeconds !== undefined) attributes.push(`Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`);
  ctx.append('Set-Cookie', attributes.join('; '));
}
