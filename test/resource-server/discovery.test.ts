/** Issuer metadata (RFC 8414), fetched once by the middleware, also for an issuer with a path. */
import test from 'ava';
import { metadataUrl } from '../../src/resource-server/discovery.js';
import { startNotesWorld } from '../helpers/notes.js';

test('RFC 8414 §3.1: the well-known segment goes between the host and the issuer path', (t) => {
  t.is(metadataUrl('https://auth.example.com'), 'https://auth.example.com/.well-known/oauth-authorization-server');
  t.is(metadataUrl('https://auth.example.com/tenant'), 'https://auth.example.com/.well-known/oauth-authorization-server/tenant');
  t.is(metadataUrl('http://localhost:4000/a/b'), 'http://localhost:4000/.well-known/oauth-authorization-server/a/b');
});

test('an issuer with a path: the middleware finds /tenant/introspect through the metadata, once for many requests', async (t) => {
  const notes = await startNotesWorld({ issuerPath: '/tenant' });
  t.teardown(() => notes.close());
  const { access } = await notes.login(await notes.newUser());
  const replies = await Promise.all(Array.from({ length: 5 }, () => notes.notes('GET', access)));
  t.deepEqual(replies.map((reply) => reply.status), [200, 200, 200, 200, 200]);
  t.is(notes.proxy.count('GET', '/.well-known/oauth-authorization-server/tenant'), 1, 'concurrent first requests share one discovery');
  t.is(notes.proxy.count('POST', '/tenant/introspect'), 5);
});
