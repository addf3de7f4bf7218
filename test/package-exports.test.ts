/**
 * What users import: `gatehouse/resource-server` and `gatehouse/client` resolve through package.json "exports"
 * to the built files, with their type declarations, and the client stays free of Node-only APIs so that it runs
 * in a browser. Needs `npm run build` (npm test's pretest).
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

test('package.json exports ./resource-server and ./client with types, and the files exist', (t) => {
  for (const entry of ['./resource-server', './client']) {
    const target = manifest.exports[entry];
    t.truthy(target, entry);
    t.true(existsSync(join(ROOT, target.default)), target.default);
    t.true(existsSync(join(ROOT, target.types)), target.types);
  }
});

test('gatehouse/resource-server and gatehouse/client import by their package names', async (t) => {
  const resourceServer = await import('gatehouse/resource-server');
  t.is(typeof resourceServer.createResourceServer, 'function');
  const client = await import('gatehouse/client');
  t.is(typeof client.createGatehouseClient, 'function');
  t.true(new client.SessionEndedError('x') instanceof client.GatehouseClientError);
});

test('the built client uses no Node-only module or global', (t) => {
  const dir = join(ROOT, 'dist', 'client');
  const files = readdirSync(dir).filter((name) => name.endsWith('.js'));
  t.true(files.length > 0);
  for (const name of files) {
    const source = readFileSync(join(dir, name), 'utf8');
    t.notRegex(source, /from ['"]node:|require\(|\bBuffer\b|\bprocess\./, name);
    for (const [, specifier] of source.matchAll(/from ['"]([^'"]+)['"]/g)) t.regex(specifier!, /^\.\/[\w-]+\.js$/, `${name} imports only its own folder`);
  }
});

test('createResourceServer refuses bad options with a TypeError at creation', async (t) => {
  const { createResourceServer } = await import('gatehouse/resource-server');
  const valid = { issuer: 'https://auth.example.com', clientId: 'api', clientSecret: 's', audience: 'https://api.example.com' };
  t.notThrows(() => createResourceServer(valid).close());
  for (const change of [
    { issuer: 'http://auth.example.com' },
    { issuer: 'https://auth.example.com/' },
    { issuer: 'https://auth.example.com?x=1' },
    { clientSecret: '' },
    { audience: '' },
    { timeoutMs: 0 },
    { realm: 'a"b' },
    { cache: { ttlSeconds: 0 } },
  ]) {
    t.throws(() => createResourceServer({ ...valid, ...change } as never), { instanceOf: TypeError }, JSON.stringify(change));
  }
  const server = createResourceServer(valid);
  t.throws(() => server.requireScopes('bad scope'), { instanceOf: TypeError });
  server.close();
});
