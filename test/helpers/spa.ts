/**
 * A single-page app for the browser test: a static page on an origin of its own (http://127.0.0.1:<port>) that
 * loads the built gatehouse/client (dist/client, as an app would bundle it), logs in with startLogin() /
 * completeLogin() on /callback, keeps its tokens in sessionStorage, and exposes `window.app` for the test to
 * drive. `document.body.dataset.status` says where it is: ready, logged-in or login-failed.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ROOT } from './process.js';

export interface SpaConfig {
  clientId: string;
  issuer: string;
  /** Where the app's API lives; its origin is the only one that gets the access token. */
  apiUrl: string;
}

export interface Spa {
  origin: string;
  redirectUri: string;
  close(): Promise<void>;
}

function page(config: SpaConfig & { redirectUri: string }): string {
  const settings = JSON.stringify({
    tokenEndpoint: `${config.issuer}/token`,
    authorizationEndpoint: `${config.issuer}/authorize`,
    issuer: config.issuer,
    redirectUri: config.redirectUri,
    clientId: config.clientId,
    apiUrl: config.apiUrl,
  }).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${config.clientId}</title></head>
<body data-status="starting">
<h1>App ${config.clientId}</h1>
<button id="login" type="button">Log in</button>
<pre id="out"></pre>
<script type="module">
import { createGatehouseClient } from '/lib/index.js';
const config = ${settings};
const saved = sessionStorage.getItem('tokens');
const client = createGatehouseClient({
  tokenEndpoint: config.tokenEndpoint,
  authorizationEndpoint: config.authorizationEndpoint,
  issuer: config.issuer,
  redirectUri: config.redirectUri,
  clientId: config.clientId,
  apiOrigins: [new URL(config.apiUrl).origin],
  ...(saved ? { tokens: JSON.parse(saved) } : {}),
  saveTokens: (tokens) => (tokens ? sessionStorage.setItem('tokens', JSON.stringify(tokens)) : sessionStorage.removeItem('tokens')),
});
window.app = {
  async login() {
    location.assign(await client.startLogin());
  },
  async callApi(method = 'GET') {
    try {
      const init = method === 'POST' ? { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'from ' + config.clientId }) } : {};
      const response = await client.fetch(config.apiUrl + '/notes', init);
      return { status: response.status, body: await response.json() };
    } catch (error) {
      return { error: error.name, code: error.code };
    }
  },
};
document.getElementById('login').addEventListener('click', () => window.app.login());
if (location.pathname === '/callback') {
  try {
    await client.completeLogin();
    history.replaceState(null, '', '/');
    document.body.dataset.status = 'logged-in';
  } catch (error) {
    document.getElementById('out').textContent = error.name + ': ' + error.message;
    document.body.dataset.status = 'login-failed';
  }
} else {
  document.body.dataset.status = client.tokens ? 'logged-in' : 'ready';
}
</script>
</body>
</html>`;
}

/** Serves one app. `config` is read at each request, so the issuer can be filled in after the port is known. */
export async function startSpa(config: () => SpaConfig): Promise<Spa> {
  let origin = '';
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/' || path === '/callback') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(page({ ...config(), redirectUri: `${origin}/callback` }));
      return;
    }
    const lib = /^\/lib\/([\w-]+\.js)$/.exec(path);
    if (lib) {
      readFile(join(ROOT, 'dist', 'client', lib[1]!)).then(
        (source) => {
          res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
          res.end(source);
        },
        () => {
          res.writeHead(404).end();
        },
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    redirectUri: `${origin}/callback`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A page on yet another origin: whatever HTML the test gives it (a copy of the login form, for login CSRF). */
export async function startPlainSite(html: () => string): Promise<{ origin: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
