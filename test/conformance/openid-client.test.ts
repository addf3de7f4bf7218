/**
 * A client written by someone else: openid-client (panva, v6, built on oauth4webapi) completes the authorization
 * code flow with PKCE against Gatehouse from Node, discovering it through RFC 8414 metadata. It checks what
 * Gatehouse answers as strictly as the RFCs allow (issuer, iss in the response, state, token response shape); the
 * refusals of a forged state, a wrong verifier, a reused code, an unregistered redirect URI and another client's
 * code are then each checked as the RFCs say. The browser's part (login form) is played by the test agent.
 */
import anyTest, { type TestFn } from 'ava';
import * as oidc from 'openid-client';
import { authorizeThrough, pageKind, type BrowserAgent } from '../helpers/browser-agent.js';
import { spa, spa2, startBrowserWorld, web, type BrowserWorld } from '../helpers/browser-world.js';
import { alice, API } from '../helpers/fixtures.js';
import { isActive } from '../helpers/grants.js';

interface Context {
  world: BrowserWorld;
  /** openid-client configured for the public SPA client (token_endpoint_auth_method none). */
  spaClient: oidc.Configuration;
}

const test = anyTest as TestFn<Context>;

/** Discovers the issuer as a real deployment would; the issuer is http://localhost:<port>, sent to where it listens. */
async function discover(world: BrowserWorld, clientId: string, auth: oidc.ClientAuth): Promise<oidc.Configuration> {
  const issuerOrigin = new URL(world.issuer).origin;
  const fetchVia: oidc.CustomFetch = (url, options) => fetch(url.startsWith(issuerOrigin) ? `${world.url}${url.slice(issuerOrigin.length)}` : url, options as RequestInit);
  return oidc.discovery(new URL(world.issuer), clientId, undefined, auth, {
    algorithm: 'oauth2', // RFC 8414 metadata, not OpenID Connect discovery
    // openid-client refuses http issuers unless told; Gatehouse allows plain http only on loopback hosts.
    execute: [oidc.allowInsecureRequests],
    [oidc.customFetch]: fetchVia,
  });
}

test.before(async (t) => {
  const world = await startBrowserWorld();
  t.context = { world, spaClient: await discover(world, spa.id, oidc.None()) };
});
test.after.always((t) => t.context?.world.close());

/** openid-client builds the request; the agent logs alice in; returns what came back to the redirect URI. */
async function authorize(config: oidc.Configuration, world: BrowserWorld, redirectUri: string, agent?: BrowserAgent) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'read',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const params = Object.fromEntries(url.searchParams);
  const { location } = await authorizeThrough(
    agent ?? world.agent(),
    { clientId: params.client_id!, redirectUri: params.redirect_uri!, challenge: params.code_challenge!, state: params.state!, scope: params.scope! },
    alice,
  );
  return { url, location, verifier, state };
}

test('openid-client discovers Gatehouse (RFC 8414), completes the code flow with PKCE, refreshes and revokes', async (t) => {
  const { world, spaClient } = t.context;
  const metadata = spaClient.serverMetadata();
  t.is(metadata.issuer, world.issuer);
  t.true(metadata.supportsPKCE('S256'));
  t.is(metadata.authorization_response_iss_parameter_supported, true);
  const { url, location, verifier, state } = await authorize(spaClient, world, spa.redirectUri);
  t.is(url.origin + url.pathname, `${world.issuer}/authorize`);
  const tokens = await oidc.authorizationCodeGrant(spaClient, location, { pkceCodeVerifier: verifier, expectedState: state });
  t.is(tokens.token_type.toLowerCase(), 'bearer');
  t.is(tokens.scope, 'read');
  t.true(typeof tokens.expiresIn() === 'number' && tokens.expiresIn()! > 0);
  t.true(await isActive(t, world, tokens.access_token));
  const renewed = await oidc.refreshTokenGrant(spaClient, tokens.refresh_token!);
  t.not(renewed.refresh_token, tokens.refresh_token);
  t.true(await isActive(t, world, renewed.access_token));
  await oidc.tokenRevocation(spaClient, renewed.refresh_token!);
  t.false(await isActive(t, world, renewed.access_token));
});

test('a confidential client (client_secret_basic) completes the same flow', async (t) => {
  const { world } = t.context;
  const config = await discover(world, web.id, oidc.ClientSecretBasic(web.secret));
  const { location, verifier, state } = await authorize(config, world, web.redirectUri);
  const tokens = await oidc.authorizationCodeGrant(config, location, { pkceCodeVerifier: verifier, expectedState: state });
  t.true(await isActive(t, world, tokens.access_token));
  t.is(tokens.claims(), undefined, 'no ID token: OAuth 2.0, not OpenID Connect');
  t.is(JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()).aud, API);
});

test('RFC 6749 §10.12: a forged state is refused by the client before the code is sent anywhere', async (t) => {
  const { world, spaClient } = t.context;
  const { location, verifier, state } = await authorize(spaClient, world, spa.redirectUri);
  const forged = new URL(location);
  forged.searchParams.set('state', oidc.randomState());
  await t.throwsAsync(oidc.authorizationCodeGrant(spaClient, forged, { pkceCodeVerifier: verifier, expectedState: state }));
  // The code was never redeemed: with the real state it still works.
  const tokens = await oidc.authorizationCodeGrant(spaClient, location, { pkceCodeVerifier: verifier, expectedState: state });
  t.truthy(tokens.access_token);
});

test('RFC 9207: a response whose iss is not the issuer is refused by the client (mix-up)', async (t) => {
  const { world, spaClient } = t.context;
  const { location, verifier, state } = await authorize(spaClient, world, spa.redirectUri);
  const mixedUp = new URL(location);
  mixedUp.searchParams.set('iss', 'https://other-issuer.example');
  await t.throwsAsync(oidc.authorizationCodeGrant(spaClient, mixedUp, { pkceCodeVerifier: verifier, expectedState: state }));
});

test('RFC 7636 §4.6: a wrong verifier is refused with invalid_grant', async (t) => {
  const { world, spaClient } = t.context;
  const { location, state } = await authorize(spaClient, world, spa.redirectUri);
  const error = await t.throwsAsync(oidc.authorizationCodeGrant(spaClient, location, { pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: state }), {
    instanceOf: oidc.ResponseBodyError,
  });
  t.is(error?.error, 'invalid_grant');
  t.is(error?.status, 400);
});

test('RFC 6749 §4.1.2: a reused code is refused with invalid_grant, and the tokens of its first use stop working', async (t) => {
  const { world, spaClient } = t.context;
  const { location, verifier, state } = await authorize(spaClient, world, spa.redirectUri);
  const first = await oidc.authorizationCodeGrant(spaClient, location, { pkceCodeVerifier: verifier, expectedState: state });
  const error = await t.throwsAsync(oidc.authorizationCodeGrant(spaClient, location, { pkceCodeVerifier: verifier, expectedState: state }), {
    instanceOf: oidc.ResponseBodyError,
  });
  t.is(error?.error, 'invalid_grant');
  t.false(await isActive(t, world, first.access_token));
  await t.throwsAsync(oidc.refreshTokenGrant(spaClient, first.refresh_token!), { instanceOf: oidc.ResponseBodyError });
});

test('RFC 6749 §4.1.2.1: an unregistered redirect URI is shown as an error to the user, never redirected to', async (t) => {
  const { world, spaClient } = t.context;
  const url = oidc.buildAuthorizationUrl(spaClient, {
    redirect_uri: 'https://evil.example/callback',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    state: oidc.randomState(),
  });
  const reply = await world.agent().get(url.href);
  t.is(reply.status, 400);
  t.is(reply.location, undefined);
  t.is(pageKind(reply), 'other');
});

test('RFC 6749 §4.1.3: a code issued to another client is refused with invalid_grant', async (t) => {
  const { world, spaClient } = t.context;
  const other = await discover(world, spa2.id, oidc.None());
  const { location, verifier, state } = await authorize(spaClient, world, spa.redirectUri);
  // The other client, presenting the code as if it had come back to it.
  const stolen = new URL(spa2.redirectUri);
  for (const [name, value] of location.searchParams) stolen.searchParams.set(name, value);
  const error = await t.throwsAsync(
    oidc.authorizationCodeGrant(other, stolen, { pkceCodeVerifier: verifier, expectedState: state }, { redirect_uri: spa.redirectUri }),
    { instanceOf: oidc.ResponseBodyError },
  );
  t.is(error?.error, 'invalid_grant');
  // Its own client still redeems it.
  t.truthy((await oidc.authorizationCodeGrant(spaClient, location, { pkceCodeVerifier: verifier, expectedState: state })).access_token);
});
