/**
 * Property-based tests: whatever bytes arrive, the parsers either decode them or refuse them with their own
 * error type, and the token reader answers null; nothing else escapes.
 */
import test from 'ava';
import fc from 'fast-check';
import { OAuthError } from '../../src/errors.js';
import { parseBasicCredentials } from '../../src/http/client-auth.js';
import { decodeFormString, FormDecodeError, parseForm } from '../../src/lib/form-urlencoded.js';
import { isScopeToken, parseScope } from '../../src/lib/scope.js';
import { verifyAccessToken } from '../../src/tokens/access-token.js';
import { alice, startWorld } from '../helpers/fixtures.js';

const RUNS = { numRuns: 2000 };

/** Strings made of the characters that matter to a form decoder, plus anything. */
const formish = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'b', '=', '&', '%', '+', '0', 'f', 'F', 'z', '\u00e9', '\u0000', ' ') }),
  fc.string({ unit: 'binary' }),
);

test('parseForm: any bytes are decoded or refused with FormDecodeError', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        const params = parseForm(bytes);
        for (const [name, value] of params) if (name.includes('\0') || value.includes('\0') || value === '') return false;
        return true;
      } catch (error) {
        return error instanceof FormDecodeError;
      }
    }),
    RUNS,
  );
  t.pass();
});

test('parseForm: what URLSearchParams encodes decodes back to the same pairs', (t) => {
  const name = fc.string({ minLength: 1, maxLength: 10, unit: 'grapheme' }).filter((s) => !s.includes('\0'));
  const value = fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' }).filter((s) => !s.includes('\0'));
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(name, value), { selector: ([n]) => n, maxLength: 6 }), (pairs) => {
      const body = new URLSearchParams(pairs).toString();
      return JSON.stringify([...parseForm(Buffer.from(body))]) === JSON.stringify(pairs);
    }),
    RUNS,
  );
  t.pass();
});

test('decodeFormString: refuses or decodes, never throws anything else', (t) => {
  fc.assert(
    fc.property(formish, (input) => {
      try {
        decodeFormString(input);
        return true;
      } catch (error) {
        return error instanceof FormDecodeError;
      }
    }),
    RUNS,
  );
  t.pass();
});

test('parseBasicCredentials: any header is parsed or refused with invalid_client', (t) => {
  const header = fc.oneof(
    fc.string(),
    formish.map((s) => 'Basic ' + Buffer.from(s, 'latin1').toString('base64')),
    fc.uint8Array({ maxLength: 60 }).map((b) => 'Basic ' + Buffer.from(b).toString('base64')),
    fc.string().map((s) => 'basic   ' + s),
  );
  fc.assert(
    fc.property(header, (value) => {
      try {
        const parsed = parseBasicCredentials(value);
        return parsed === undefined ? value === '' : typeof parsed.clientId === 'string' && typeof parsed.secret === 'string';
      } catch (error) {
        return error instanceof OAuthError && error.code === 'invalid_client' && error.status === 401;
      }
    }),
    RUNS,
  );
  t.pass();
});

test('parseScope: a list of valid, distinct tokens, or null', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (input) => {
      const scope = parseScope(input);
      return scope === null || (scope.every(isScopeToken) && new Set(scope).size === scope.length);
    }),
    RUNS,
  );
  t.pass();
});

test('verifyAccessToken: mutated real tokens and random strings are null, never an exception', async (t) => {
  const world = await startWorld();
  t.teardown(() => world.close());
  const { access } = await world.login(alice);
  const mutated = fc
    .tuple(fc.nat({ max: access.length - 1 }), fc.constantFrom('A', '.', '-', '_', '=', '%', ' ', '\u0000', 'é'), fc.constantFrom('replace', 'insert', 'delete'))
    .map(([at, char, how]) => (how === 'replace' ? access.slice(0, at) + char + access.slice(at + 1) : how === 'insert' ? access.slice(0, at) + char + access.slice(at) : access.slice(0, at) + access.slice(at + 1)));
  const random = fc.oneof(fc.string(), fc.array(fc.base64String(), { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.')));
  await fc.assert(
    fc.asyncProperty(fc.oneof(mutated, random), async (token) => {
      const claims = await verifyAccessToken(world.keys.ring, token, world.issuer, world.clock.now());
      // A mutation can only leave a token valid if it did not change what was signed (e.g. base64 padding bits).
      return claims === null || claims.jti === JSON.parse(Buffer.from(access.split('.')[1]!, 'base64url').toString()).jti;
    }),
    { numRuns: 1500 },
  );
  t.pass();
});
