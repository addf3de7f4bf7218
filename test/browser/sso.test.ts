/**
 * Issue #14, in a real browser: headless Chromium (Debian's package, driven by playwright-core) logs in through the
 * authorization code flow with PKCE. Three single-page apps, each on an origin of its own, use the built
 * gatehouse/client; the issuer is http://localhost:<port> and the apps http://127.0.0.1:<port>, so the apps and
 * the issuer are different sites, as in production (the issuer's SameSite=Lax cookie travels only on the
 * top-level navigation to /authorize, never with the apps' own requests). The notes API is on a fourth origin,
 * with CORS for the apps.
 *
 * Needs `npm run build` (dist/client is what the pages load; npm test builds first) and /usr/bin/chromium
 * (`apt-get install chromium`; .ci/run installs it). Without Chromium the tests are skipped, except in CI, where
 * they fail. Screenshots of the pages go to test-artifacts/browser/ (git-ignored).
 */
import anyTest, { type TestFn } from 'ava';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { registerPublicClient } from '../../src/clients/register-public.js';
import { startExampleApi, type ExampleApi } from '../../scripts/example-api.js';
import { createLogger } from '../../src/lib/log.js';
import { BrowserAgent, authorizePath, hiddenInputs, pkce } from '../helpers/browser-agent.js';
import { alice, startWorld, type World } from '../helpers/fixtures.js';
import { ROOT } from '../helpers/process.js';
import { startPlainSite, startSpa, type Spa } from '../helpers/spa.js';

/** Debian's package; GATEHOUSE_CHROMIUM names another binary (or a missing one, to see the skip). */
const CHROMIUM = process.env.GATEHOUSE_CHROMIUM ?? '/usr/bin/chromium';
const IN_CI = Boolean(process.env.CI) || process.env.GATEHOUSE_BROWSER_TESTS === 'required';
const ARTIFACTS = join(ROOT, 'test-artifacts', 'browser');
const NOTES_API = 'https://notes.example.test';
const USER = alice; // created by startWorld
const TIMEOUT = 30_000;

interface Context {
  world: World;
  api: ExampleApi;
  apps: { first: Spa; second: Spa; thirdParty: Spa };
  browser: Browser;
}

const test = anyTest as TestFn<Context>;

if (!existsSync(CHROMIUM) && !IN_CI) {
  test.skip(`browser flow skipped: ${CHROMIUM} is missing (apt-get install chromium); in CI this fails instead`, () => {});
} else {
  test.before(async (t) => {
    t.timeout(180_000); // starting Chromium on a busy machine can take a while
    mkdirSync(ARTIFACTS, { recursive: true });
    // Filled in step by step, so that after.always closes whatever was opened if a step fails.
    const context = (t.context = {} as Context);
    const world = (context.world = await startWorld());
    let apiUrl = '';
    const spa = (clientId: string) => startSpa(() => ({ clientId, issuer: world.issuer, apiUrl }));
    const apps = (context.apps = { first: await spa('notes-web'), second: await spa('calendar-web'), thirdParty: await spa('partner-web') });
    const scope = 'notes:read notes:write';
    await registerPublicClient(world.store, { id: 'notes-web', scope, audiences: [NOTES_API], redirectUris: [apps.first.redirectUri] }, world.clock.now());
    await registerPublicClient(world.store, { id: 'calendar-web', scope, audiences: [NOTES_API], redirectUris: [apps.second.redirectUri] }, world.clock.now());
    await registerPublicClient(
      world.store,
      { id: 'partner-web', scope: 'notes:read', audiences: [NOTES_API], redirectUris: [apps.thirdParty.redirectUri], thirdParty: true },
      world.clock.now(),
    );
    await world.createClient({ id: 'notes-rs', secret: 'notes-rs-0123456789abcdef0123456789abcdef', audiences: [NOTES_API], introspect: true });
    await world.createUser('mallory', 'mallory-password');
    const api = (context.api = await startExampleApi({
      issuer: world.issuer,
      clientId: 'notes-rs',
      clientSecret: 'notes-rs-0123456789abcdef0123456789abcdef',
      audience: NOTES_API,
      clock: world.clock,
      timeoutMs: 20_000,
      log: createLogger(() => {}),
      corsOrigins: Object.values(apps).map((app) => app.origin),
    }));
    apiUrl = api.url;
    // playwright starts Chromium with a fresh, empty --user-data-dir of its own (and refuses one in args); the
    // flags keep Chromium from calling out of this closed network, whose refusals would disturb it.
    context.browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: 60_000,
    });
  });

  test.after.always(async (t) => {
    const { browser, api, apps, world } = (t.context ?? {}) as Partial<Context>;
    await browser?.close();
    await api?.close();
    for (const app of Object.values(apps ?? {})) await app.close();
    await world?.close();
  });

  test.serial('an SPA logs in at the issuer, a second app gets tokens without the password, a third party asks consent, and logging out at the issuer ends all three', async (t) => {
    t.timeout(240_000);
    const { world, apps } = t.context;
    const context = await t.context.browser.newContext();
    t.teardown(() => context.close());
    const requests: string[] = [];
    context.on('request', (request) => requests.push(`${request.method()} ${request.url()}`));

    // 1. The first app sends the browser to the issuer's login page.
    const first = await openApp(context, apps.first);
    await first.click('#login');
    await first.waitForURL((url) => url.pathname === '/authorize', { timeout: TIMEOUT });
    const username = first.getByLabel('Username');
    await username.waitFor({ timeout: TIMEOUT });
    t.is(await first.locator('html').getAttribute('lang'), 'en');
    t.is(await first.getByRole('heading', { level: 1 }).textContent(), 'Log in');
    t.is(await username.getAttribute('autocomplete'), 'username');
    t.is(await first.getByLabel('Password').getAttribute('autocomplete'), 'current-password');
    await first.screenshot({ path: join(ARTIFACTS, 'login.png'), fullPage: true });
    // A wrong password first: the form comes back with the message announced and the username kept.
    await username.fill(USER.username);
    await first.getByLabel('Password').fill('not-the-password');
    await first.getByRole('button', { name: 'Log in' }).click();
    t.is(await first.getByRole('alert').textContent({ timeout: TIMEOUT }), 'The username or password is incorrect');
    t.is(await first.getByLabel('Username').inputValue(), USER.username);
    t.is(await first.getByLabel('Password').inputValue(), '');
    await first.screenshot({ path: join(ARTIFACTS, 'login-error.png'), fullPage: true });
    await first.getByLabel('Password').fill(USER.password);
    await first.getByRole('button', { name: 'Log in' }).click();
    await waitForStatus(first, 'logged-in');
    t.is(new URL(first.url()).origin, apps.first.origin, 'back on the app, after the code was redeemed');

    // It calls the API with its token.
    t.like(await callApi(first, 'POST'), { status: 201 });
    t.like(await callApi(first), { status: 200 });

    // The issuer's cookies: HttpOnly, SameSite=Lax, and (plain http on a loopback host) not Secure.
    const cookies = await context.cookies(world.issuer);
    const login = cookies.find((cookie) => cookie.name === 'gatehouse_login');
    t.truthy(login, 'the login session cookie is set');
    t.like(login, { httpOnly: true, sameSite: 'Lax', secure: false, domain: 'localhost' });

    // 2. A second app of the business: the issuer knows the browser, so no password and no page at all.
    const before = requests.length;
    const second = await openApp(context, apps.second);
    await second.click('#login');
    await waitForStatus(second, 'logged-in');
    const during = requests.slice(before);
    t.false(during.some((line) => line.includes('/login')), `no login form was posted: ${during.join(', ')}`);
    t.true(during.some((line) => line.startsWith(`GET ${world.issuer}/authorize?`)), 'it went through /authorize');
    t.like(await callApi(second), { status: 200 });

    // 3. A third-party app: no password either, but the user is asked to consent to its scope.
    const partner = await openApp(context, apps.thirdParty);
    await partner.click('#login');
    const allow = partner.getByRole('button', { name: 'Allow' });
    await allow.waitFor({ timeout: TIMEOUT });
    t.regex((await partner.getByRole('heading', { level: 1 }).textContent()) ?? '', /partner-web/);
    t.deepEqual(await partner.getByRole('listitem').allTextContents(), ['notes:read']);
    await partner.screenshot({ path: join(ARTIFACTS, 'consent.png'), fullPage: true });
    await allow.click();
    await waitForStatus(partner, 'logged-in');
    t.like(await callApi(partner), { status: 200 });

    // 4. The user logs out at the issuer, in another tab.
    const issuerTab = await context.newPage();
    await issuerTab.goto(`${world.issuer}/logout`);
    const logOut = issuerTab.getByRole('button', { name: 'Log out' });
    await logOut.waitFor({ timeout: TIMEOUT });
    await issuerTab.screenshot({ path: join(ARTIFACTS, 'logout.png'), fullPage: true });
    await logOut.click();
    await issuerTab.getByRole('heading', { name: 'You are logged out' }).waitFor({ timeout: TIMEOUT });
    await issuerTab.screenshot({ path: join(ARTIFACTS, 'logged-out.png'), fullPage: true });

    // Every app sees it at its next call: the API refuses the token, the renewal is refused, SessionEndedError.
    for (const [name, page] of [['first', first], ['second', second], ['third-party', partner]] as const) {
      t.deepEqual(await callApi(page), { error: 'SessionEndedError', code: 'ERR_SESSION_ENDED' }, name);
    }
    // And logging in again asks for the password.
    await first.click('#login');
    await first.getByLabel('Password').waitFor({ timeout: TIMEOUT });
  });

  test.serial('login CSRF: a copy of the login form posted from another site does not log a fresh browser in', async (t) => {
    t.timeout(180_000);
    const { world, apps } = t.context;
    // The attacker opens a login form of their own (a pending request bound to their own browser) and puts a copy,
    // filled in with their own account, on their site, which submits it as soon as a visitor arrives.
    const attacker = new BrowserAgent(world.api, world.issuer);
    const { challenge } = pkce();
    const form = await attacker.get(authorizePath({ clientId: 'notes-web', redirectUri: apps.first.redirectUri, challenge }));
    const { flow } = hiddenInputs(form.text);
    t.truthy(flow);
    const site = await startPlainSite(
      () => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Win a prize</title></head><body>
<form method="post" action="${world.issuer}/login"><input type="hidden" name="flow" value="${flow}">
<input type="hidden" name="username" value="mallory"><input type="hidden" name="password" value="mallory-password"></form>
<script>document.forms[0].submit()</script></body></html>`,
    );
    t.teardown(() => site.close());

    const victim = await t.context.browser.newContext();
    t.teardown(() => victim.close());
    const page = await victim.newPage();
    const answer = page.waitForResponse((response) => response.url() === `${world.issuer}/login`, { timeout: TIMEOUT });
    await page.goto(site.origin);
    const response = await answer;
    t.is(response.status(), 403, 'the issuer refused the cross-site form');
    await page.getByRole('heading', { level: 1 }).waitFor({ timeout: TIMEOUT });
    t.regex(await page.locator('main').innerText(), /sent from another site/);
    await page.screenshot({ path: join(ARTIFACTS, 'login-csrf-refused.png'), fullPage: true });
    t.false((await victim.cookies(world.issuer)).some((cookie) => cookie.name === 'gatehouse_login'), 'no login session cookie');

    // The victim's browser is not logged in: the app's login shows the login form, not mallory's account.
    const app = await openApp(victim, apps.first);
    await app.click('#login');
    await app.getByLabel('Password').waitFor({ timeout: TIMEOUT });
    t.is(await app.getByLabel('Username').inputValue(), '', 'no username filled in from a session');
  });
}

async function openApp(context: BrowserContext, app: Spa): Promise<Page> {
  const page = await context.newPage();
  await page.goto(app.origin);
  await page.locator('body[data-status="ready"], body[data-status="logged-in"]').waitFor({ timeout: TIMEOUT });
  return page;
}

/** Waits until the app says `status`; if its login failed, says why. */
async function waitForStatus(page: Page, status: string): Promise<void> {
  await page.locator(`body[data-status="${status}"], body[data-status="login-failed"]`).waitFor({ timeout: TIMEOUT });
  const actual = await page.locator('body').getAttribute('data-status');
  if (actual !== status) throw new Error(`the app says ${actual}: ${await page.locator('#out').textContent()}`);
}

function callApi(page: Page, method: 'GET' | 'POST' = 'GET'): Promise<{ status?: number; body?: unknown; error?: string; code?: string }> {
  return page.evaluate((m) => (window as unknown as { app: { callApi(m: string): Promise<never> } }).app.callApi(m), method);
}
