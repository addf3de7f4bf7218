/** The node:crypto JWS path agrees with jose both ways, for every supported algorithm. */
import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { compactVerify, CompactSign } from 'jose';
import { encodeHeader, signCompact, signCompactAsync, verifySignature, verifySignatureAsync } from '../../src/tokens/jws.js';

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

for (const [alg, generate] of Object.entries(pairs)) {
  test(`${alg}: the thread-pool forms agree with jose and with the synchronous forms`, async (t) => {
    const { publicKey, privateKey } = generate();
    const encoded = encodeHeader({ alg, kid: 'k1', typ: 'at+jwt' });
    const token = await signCompactAsync(alg, privateKey, encoded, { sub: 'y', n: 2 });
    const verified = await compactVerify(token, publicKey, { algorithms: [alg] });
    t.deepEqual(JSON.parse(Buffer.from(verified.payload).toString()), { sub: 'y', n: 2 });
    await t.throwsAsync(signCompactAsync('HS256', privateKey, encoded, {}), { instanceOf: TypeError });

    const theirs = await new CompactSign(Buffer.from('{"a":2}')).setProtectedHeader({ alg }).sign(privateKey);
    const [header, payload, signature] = theirs.split('.') as [string, string, string];
    const input = `${header}.${payload}`;
    t.true(await verifySignatureAsync(alg, publicKey, input, signature));
    const refused: Array<[string, string, string]> = [
      ['another input', `${input}x`, signature],
      ['another signature', input, signature.slice(0, -2) + (signature.endsWith('AA') ? 'BB' : 'AA')],
      ['no signature', input, ''],
      ['not base64url', input, 'not*base64url'],
      ['padded base64url', input, `${signature}=`],
    ];
    for (const [why, data, sig] of refused) {
      t.false(await verifySignatureAsync(alg, publicKey, data, sig), why);
      t.is(await verifySignatureAsync(alg, publicKey, data, sig), verifySignature(alg, publicKey, data, sig), `${why}: the same answer as the synchronous form`);
    }
    t.false(await verifySignatureAsync('HS256', publicKey, input, signature), 'an algorithm that is not supported');
  });
}
