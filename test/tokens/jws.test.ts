/** The node:crypto JWS path agrees with jose both ways, for every supported algorithm. */
import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { compactVerify, CompactSign } from 'jose';
import { encodeHeader, signCompact, verifySignature } from '../../src/tokens/jws.js';

const pairs = {
  ES256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  RS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  PS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  EdDSA: () => generateKeyPairSync('ed25519'),
} as const;

for (const [alg, generate] of Object.entries(pairs)) {
  test(`${alg}: what we sign jose verifies, what jose signs we verify, and a changed byte fails`, async (t) => {
    const { publicKey, privateKey } = generate();
    const token = signCompact(alg, privateKey, encodeHeader({ alg, kid: 'k1', typ: 'at+jwt' }), { sub: 'x', n: 1 });
    const verified = await compactVerify(token, publicKey, { algorithms: [alg] });
    t.deepEqual(JSON.parse(Buffer.from(verified.payload).toString()), { sub: 'x', n: 1 });

    const theirs = await new CompactSign(Buffer.from('{"a":1}')).setProtectedHeader({ alg }).sign(privateKey);
    const [header, payload, signature] = theirs.split('.') as [string, string, string];
    t.true(verifySignature(alg, publicKey, `${header}.${payload}`, signature));
    t.false(verifySignature(alg, publicKey, `${header}.${payload}x`, signature), 'another input');
    t.false(verifySignature(alg, publicKey, `${header}.${payload}`, signature.slice(0, -2) + (signature.endsWith('AA') ? 'BB' : 'AA')), 'another signature');
    t.false(verifySignature(alg, publicKey, `${header}.${payload}`, ''), 'no signature');
    t.false(verifySignature(alg, publicKey, `${header}.${payload}`, 'not*base64url'), 'not base64url');
    t.false(verifySignature('HS256', publicKey, `${header}.${payload}`, signature), 'an algorithm that is not supported');
  });
}
