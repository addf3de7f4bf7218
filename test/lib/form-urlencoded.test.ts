import test from 'ava';
import { decodeFormString, FormDecodeError, parseForm } from '../../src/lib/form-urlencoded.js';

const parse = (body: string | Uint8Array) => Object.fromEntries(parseForm(typeof body === 'string' ? Buffer.from(body, 'latin1') : body));

test('decodes names and values: plus is a space, percent-escapes are UTF-8 bytes', (t) => {
  t.deepEqual(parse('a=b+c&na%6De=%E2%82%AC&x=%2B%26%3D'), { a: 'b c', name: '€', x: '+&=' });
});

test('empty values count as omitted; empty pairs are skipped', (t) => {
  t.deepEqual(parse('a=&b=1&&c'), { b: '1' });
  t.deepEqual(parse(''), {});
});

test('a repeated name is refused, even when one of the values is empty', (t) => {
  t.throws(() => parse('a=1&a=2'), { instanceOf: FormDecodeError, message: /repeated: a/ });
  t.throws(() => parse('a=&a=2'), { instanceOf: FormDecodeError });
});

test('bad percent-escapes are refused instead of passed through', (t) => {
  for (const body of ['a=%', 'a=%4', 'a=%zz', 'a=%%41']) t.throws(() => parse(body), { instanceOf: FormDecodeError }, body);
});

test('bytes that are not UTF-8 are refused instead of becoming U+FFFD', (t) => {
  t.throws(() => parse('a=%FF'), { instanceOf: FormDecodeError, message: /UTF-8/ });
  t.throws(() => parse('a=%C3%28'), { instanceOf: FormDecodeError });
  t.throws(() => parse(Uint8Array.from([0x61, 0x3d, 0xc3])), { instanceOf: FormDecodeError });
});

test('NUL is refused, encoded or raw', (t) => {
  t.throws(() => parse('a=x%00y'), { instanceOf: FormDecodeError, message: /NUL/ });
  t.throws(() => parse(Uint8Array.from([0x61, 0x3d, 0x00])), { instanceOf: FormDecodeError });
});

test('the error message names a repeated parameter only in safe characters', (t) => {
  const error = t.throws(() => parse('%22%5C=1&%22%5C=2'), { instanceOf: FormDecodeError });
  t.regex(error!.message, /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/);
});

test('decodeFormString decodes one component the same way', (t) => {
  t.is(decodeFormString('odd%3Aclient'), 'odd:client');
  t.is(decodeFormString('p%25%2B%26%3Dss'), 'p%+&=ss');
  t.throws(() => decodeFormString('p%+&=ss'), { instanceOf: FormDecodeError });
});
