/**
 * Forged and malformed access tokens (RFC 8725 §2, §3): each is answered exactly {"active":false} at
 * /introspect, never a 5xx, and none makes the issuer fetch anything.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import anyTest, { type TestFn } from 'ava';
import { createHmac, sign } from 'node:crypto';
import { alice, OTHER_API, startWorld, type World } from '../helpers/fixtures.js';
import { algNone, signWithForeignKey, signWithIssuerKey } from '../helpers/forge.js';
import { decodeJwt, send } from '../helpers/http.js';

interface Context {
  world: World;
  rsaWorld: World;
  fetches: string[];
  trap: string;
  closeTrap(): Promise<void>;
}
const test = anyTest as TestFn<Context>;

test.before(async (t) => {
  const fetches: string[] = [];
  const trapServer = createServer((req, res) => {
    fetches.push(req.url ?? '');
    res.end('{"keys":[]}');
  });
  await new Promise<void>((resolve) => trapServer.listen(0, '127.0.0.1', resolve));
  t.context = {
    world: await startWorld(),
    rsaWorld: await startWorld({ env: { GATEHOUSE_SIGNING_ALG: 'RS256' } }),
    fetches,
    trap: `http://127.0.0.1:${(trapServer.address() as AddressInfo).port}/jwks.json`,
    closeTrap: () => new Promise((resolve) => trapServer.close(() => resolve())),
  };
});
test.after.always(async (t) => {
  await t.context.world?.close();
  await t.context.rsaWorld?.close();
  await t.context.closeTrap?.();
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function hs256(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | Buffer): string {
  const input = `${b64({ ...header, alg: 'HS256' })}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** Signs exactly the given header with the issuer's key (ES256), bypassing jose's own header checks. */
function signRaw(world: World, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const key = world.keys.signingKey();
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

async function assertInactive(t: any, world: World, token: string, what: string): Promise<void> {
  const reply = await world.introspect(token);
  t.is(reply.status, 200, `${what}: ${reply.status}`);
  t.is(reply.text, '{"active":false}', what);
}

async function attacks(world: World, trap: string): Promise<Array<[string, string]>> {
  const { access } = await world.login(alice);
  const { header, payload } = decodeJwt(access);
  const jwks = (await send(`${world.url}/.well-known/jwks.json`)).json;
  const now = world.clock.now();
  return [
    ['alg none', algNone(access)],
    ['alg none, no signature segment', algNone(access).slice(0, -1)],
    ['HS256 keyed with the public JWK', hs256(header, payload, JSON.stringify(jwks.keys.find((key: { kid: string }) => key.kid === header.kid)))],
    ['HS256 keyed with the kid', hs256(header, payload, header.kid)],
    ['unknown kid', await signWithForeignKey(access, { kid: 'no-such-key' })],
    ['kid with a path', await signWithForeignKey(access, { kid: '../../../../dev/null' })],
    ['kid with SQL', await signWithForeignKey(access, { kid: "' OR 1=1--" })],
    ['the issuer kid, a foreign key', await signWithForeignKey(access)],
    ['a foreign RSA key', await signWithForeignKey(access, { alg: 'RS256' })],
    ['jku header', await signWithIssuerKey(world, payload, { jku: trap })],
    ['x5u header', await signWithIssuerKey(world, payload, { x5u: trap })],
    ['embedded jwk header', await signWithIssuerKey(world, payload, { jwk: jwks.keys[0] })],
    ['crit header', signRaw(world, { ...header, crit: ['x-must-understand'], 'x-must-understand': true }, payload)],
    ['typ JWT', await signWithIssuerKey(world, payload, { typ: 'JWT' })],
    ['no typ', await signWithIssuerKey(world, payload, { typ: undefined })],
    ['wrong iss', await signWithIssuerKey(world, { ...payload, iss: 'https://evil.example' })],
    ['wrong aud', await signWithIssuerKey(world, { ...payload, aud: OTHER_API })],
    ['nbf in the future', await signWithIssuerKey(world, { ...payload, nbf: now + 60 })],
    ['exp in the past', await signWithIssuerKey(world, { ...payload, exp: now - 1 })],
    ['exp missing', await signWithIssuerKey(world, { ...payload, exp: undefined })],
    ['exp as a string', await signWithIssuerKey(world, { ...payload, exp: String(now + 60) })],
    ['a 15 KB token', await signWithIssuerKey(world, { ...payload, pad: 'x'.repeat(11_000) })],
    ['four segments', `${access}.${access.split('.')[2]}`],
    ['five segments (JWE shape)', `${access.split('.')[0]}..${access.split('.')[1]}.x.y`],
    ['two segments', access.split('.').slice(0, 2).join('.')],
    ['header that is not JSON', `${Buffer.from('{"alg":').toString('base64url')}.${access.split('.')[1]}.${access.split('.')[2]}`],
    ['header that is an array', `${b64([header])}.${access.split('.')[1]}.${access.split('.')[2]}`],
    ['non-base64url characters', `${access.split('.')[0]}.${access.split('.')[1]}!.${access.split('.')[2]}`],
  ];
}

test('every forged or malformed token is {"active":false}, and nothing is fetched', async (t) => {
  const { world, trap, fetches } = t.context;
  const cases = await attacks(world, trap);
  for (const [what, token] of cases) await assertInactive(t, world, token, what);
  t.deepEqual(fetches, [], 'no jku or x5u was ever fetched');
  // Controls: the forging helpers make valid tokens when nothing is wrong with them.
  const { access } = await world.login(alice);
  const { header, payload } = decodeJwt(access);
  t.true((await world.introspect(signRaw(world, header, payload))).json.active, 'signRaw control');
  t.true((await world.introspect(await signWithIssuerKey(world, payload))).json.active, 'signWithIssuerKey control');
  t.true(cases.find(([what]) => what === 'a 15 KB token')![1].length > 14_000);
});

test('HS256 signed with the RSA public key (key confusion) is inactive on an RS256 issuer', async (t) => {
  const { rsaWorld } = t.context;
  const { access } = await rsaWorld.login(alice);
  const { header, payload } = decodeJwt(access);
  const { createPublicKey } = await import('node:crypto');
  const jwk = (await send(`${rsaWorld.url}/.well-known/jwks.json`)).json.keys.find((key: { kid: string }) => key.kid === header.kid);
  const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  for (const secret of [pem, String(pem).trim(), JSON.stringify(jwk)]) await assertInactive(t, rsaWorld, hs256(header, payload, secret), 'HS256 with the public key');
  t.true((await rsaWorld.introspect(access)).json.active, 'control: the real token is active');
});

test('a token that makes the body exceed 16 KiB is 413, not a 5xx', async (t) => {
  const { world } = t.context;
  const reply = await world.introspect('a'.repeat(17 * 1024));
  t.is(reply.status, 413);
  t.is(reply.json.error, 'invalid_request');
});

test('only the canonical base64url spelling of a signature verifies: the 15 other spellings of an ES256 token are inactive', async (t) => {
  const { world } = t.context;
  const { access } = await world.login(alice);
  const [head, body, signature] = access.split('.') as [string, string, string];
  t.is(signature.length, 86, 'an ES256 signature: 64 bytes, 86 characters, the last carrying 2 bits and 4 unused ones');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(signature.at(-1)!);
  const spellings = Array.from({ length: 16 }, (_, low) => alphabet[(last & 0b110000) | low]!).filter((c) => c !== signature.at(-1));
  t.is(spellings.length, 15);
  for (const c of spellings) {
    const variant = `${head}.${body}.${signature.slice(0, -1)}${c}`;
    t.deepEqual(Buffer.from(variant.split('.')[2]!, 'base64url'), Buffer.from(signature, 'base64url'), 'the same bytes');
    await assertInactive(t, world, variant, `spelling ${c}`);
  }
  t.true((await world.introspect(access)).json.active, 'control: the token itself');
});
