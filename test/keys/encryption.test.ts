import test from 'ava';
import { KeyEncryption, KeySecretError, PUSH_AUTHORIZATION } from '../../src/keys/encryption.js';

const oldSecret = 'old-secret-0123456789abcdef0123456789';
const newSecret = 'new-secret-0123456789abcdef0123456789';
const plaintext = Buffer.from('private key bytes');

test('round trip under the first secret; the envelope does not contain the plaintext', (t) => {
  const encryption = new KeyEncryption([oldSecret]);
  const envelope = encryption.encrypt('kid-1', plaintext);
  t.false(envelope.includes(plaintext.toString('base64url')));
  t.false(envelope.includes(oldSecret));
  t.deepEqual(encryption.decrypt('kid-1', envelope), plaintext);
});

test('any listed secret decrypts; only the first one encrypts', (t) => {
  const sealedOld = new KeyEncryption([oldSecret]).encrypt('kid-1', plaintext);
  const rotated = new KeyEncryption([newSecret, oldSecret]);
  t.deepEqual(rotated.decrypt('kid-1', sealedOld), plaintext);
  t.false(rotated.isCurrent(sealedOld));
  const sealedNew = rotated.encrypt('kid-1', plaintext);
  t.true(rotated.isCurrent(sealedNew));
  t.deepEqual(new KeyEncryption([newSecret]).decrypt('kid-1', sealedNew), plaintext);
});

test('an unknown secret is a clear error, not garbage', (t) => {
  const sealed = new KeyEncryption([oldSecret]).encrypt('kid-1', plaintext);
  t.throws(() => new KeyEncryption([newSecret]).decrypt('kid-1', sealed), { instanceOf: KeySecretError, message: /GATEHOUSE_KEY_SECRETS/ });
});

test('an envelope moved to another key id, or altered, fails its integrity check', (t) => {
  const encryption = new KeyEncryption([oldSecret]);
  const sealed = encryption.encrypt('kid-1', plaintext);
  t.throws(() => encryption.decrypt('kid-2', sealed), { instanceOf: KeySecretError });
  const parts = sealed.split('.');
  parts[4] = Buffer.from('tampered').toString('base64url');
  t.throws(() => encryption.decrypt('kid-1', parts.join('.')), { instanceOf: KeySecretError });
});

test('an envelope of one purpose never opens as another, even with the same id', (t) => {
  const encryption = new KeyEncryption([oldSecret]);
  const header = encryption.seal(PUSH_AUTHORIZATION, 'id-1', plaintext);
  t.deepEqual(encryption.open(PUSH_AUTHORIZATION, 'id-1', header), plaintext);
  t.throws(() => encryption.decrypt('id-1', header), { instanceOf: KeySecretError, message: /integrity check/ });
  t.throws(() => encryption.open(PUSH_AUTHORIZATION, 'id-1', encryption.encrypt('id-1', plaintext)), { instanceOf: KeySecretError, message: /push authorization_header of stream id-1/ });
});
