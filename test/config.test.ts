/** loadConfig: the defaults of issue 2's configuration table, each variable's validation, and the issuer rules. */
import test from 'ava';
import { ConfigError, loadConfig, resolveIssuer } from '../src/config.js';

function refused(t: any, env: Record<string, string>, variable: string): void {
  const error = t.throws(() => loadConfig(env), { instanceOf: ConfigError }, `${JSON.stringify(env)} must be refused`);
  if (!error) return;
  t.is(error.variable, variable, `${JSON.stringify(env)}: the error names ${variable}`);
  t.true(error.message.includes(variable), `message names the variable: ${error.message}`);
  t.false(error.message.includes('\n'), 'one line');
}

test('defaults: the issue\'s configuration table', (t) => {
  const config = loadConfig({});
  t.is(config.port, 4000);
  t.is(config.host, '127.0.0.1');
  t.is(config.issuer, undefined);
  t.is(resolveIssuer(config, 4000), 'http://localhost:4000', 'GATEHOUSE_ISSUER defaults to http://localhost:$PORT');
  t.is(resolveIssuer(config, 43_210), 'http://localhost:43210', 'with the port actually bound');
  t.deepEqual(config.database, { client: 'sqlite', filename: 'data/gatehouse.sqlite' });
  t.is(config.accessTokenTtlSeconds, 300);
  t.is(config.refreshTokenTtlSeconds, 1_209_600);
  t.is(config.sessionMaxAgeSeconds, 2_592_000);
  t.is(config.refreshGraceSeconds, 0);
  t.is(config.signingAlg, 'ES256');
  t.is(config.keySecrets, undefined, 'unset: a generated secret file is used');
  t.is(config.keysDir, 'keys');
  t.is(config.argon2MemoryKib, 19_456, 'OWASP Argon2id minimum');
  t.is(config.argon2Iterations, 2);
});

test('every variable is read', (t) => {
  const config = loadConfig({
    PORT: '0',
    HOST: '0.0.0.0',
    GATEHOUSE_ISSUER: 'https://id.example.com',
    DATABASE_URL: 'sqlite:/var/lib/gatehouse/g.sqlite',
    GATEHOUSE_ACCESS_TOKEN_TTL: '60',
    GATEHOUSE_REFRESH_TOKEN_TTL: '3600',
    GATEHOUSE_SESSION_MAX_AGE: '86400',
    GATEHOUSE_REFRESH_GRACE_SECONDS: '10',
    GATEHOUSE_SIGNING_ALG: 'EdDSA',
    GATEHOUSE_KEY_SECRETS: `${'a'.repeat(32)},${'b'.repeat(40)}`,
    GATEHOUSE_KEYS_DIR: '/etc/gatehouse/keys',
    GATEHOUSE_ARGON2_MEMORY_KIB: '64',
    GATEHOUSE_ARGON2_ITERATIONS: '1',
  });
  t.is(config.port, 0, 'PORT=0 = any free port');
  t.is(config.host, '0.0.0.0');
  t.is(config.issuer, 'https://id.example.com');
  t.is(resolveIssuer(config, 1234), 'https://id.example.com', 'a set issuer does not follow the port');
  t.deepEqual(config.database, { client: 'sqlite', filename: '/var/lib/gatehouse/g.sqlite' });
  t.is(config.accessTokenTtlSeconds, 60);
  t.is(config.refreshTokenTtlSeconds, 3600);
  t.is(config.sessionMaxAgeSeconds, 86_400);
  t.is(config.refreshGraceSeconds, 10);
  t.is(config.signingAlg, 'EdDSA');
  t.deepEqual(config.keySecrets, ['a'.repeat(32), 'b'.repeat(40)]);
  t.is(config.keysDir, '/etc/gatehouse/keys');
  t.is(config.argon2MemoryKib, 64);
  t.is(config.argon2Iterations, 1);
});

test('DATABASE_URL: sqlite:<path> and sqlite::memory: are accepted; other schemes and an empty path are refused', (t) => {
  t.deepEqual(loadConfig({ DATABASE_URL: 'sqlite::memory:' }).database, { client: 'sqlite', filename: ':memory:' });
  t.deepEqual(loadConfig({ DATABASE_URL: 'sqlite:relative/dir/x.db' }).database, { client: 'sqlite', filename: 'relative/dir/x.db' });
  for (const value of ['mysql://x', 'sqlite:', 'file:data/g.sqlite', 'data/gatehouse.sqlite']) refused(t, { DATABASE_URL: value }, 'DATABASE_URL');
});

test('PORT: a whole number 0-65535', (t) => {
  t.is(loadConfig({ PORT: '65535' }).port, 65_535);
  t.is(loadConfig({ PORT: '8080' }).port, 8080);
  for (const value of ['abc', '-1', '65536', '80.5', '1e3', '0x50', '80 80']) refused(t, { PORT: value }, 'PORT');
});

const DURATIONS = {
  GATEHOUSE_ACCESS_TOKEN_TTL: 'accessTokenTtlSeconds',
  GATEHOUSE_REFRESH_TOKEN_TTL: 'refreshTokenTtlSeconds',
  GATEHOUSE_SESSION_MAX_AGE: 'sessionMaxAgeSeconds',
  GATEHOUSE_REFRESH_GRACE_SECONDS: 'refreshGraceSeconds',
} as const;

test('durations are whole seconds: fractions, units, signs and words are refused', (t) => {
  for (const [variable, field] of Object.entries(DURATIONS)) {
    t.is(loadConfig({ [variable]: '120' })[field], 120, variable);
    for (const value of ['-1', '1.5', '30s', '5m', 'abc', '+10', '1e2']) refused(t, { [variable]: value }, variable);
  }
  t.is(loadConfig({ GATEHOUSE_REFRESH_GRACE_SECONDS: '0' }).refreshGraceSeconds, 0, 'a grace of 0 is the default and valid');
});

test('GATEHOUSE_SIGNING_ALG: ES256, RS256, PS256 or EdDSA only', (t) => {
  for (const alg of ['ES256', 'RS256', 'PS256', 'EdDSA'] as const) t.is(loadConfig({ GATEHOUSE_SIGNING_ALG: alg }).signingAlg, alg);
  for (const alg of ['HS256', 'none', 'es256', 'RS512', 'ES384']) refused(t, { GATEHOUSE_SIGNING_ALG: alg }, 'GATEHOUSE_SIGNING_ALG');
});

test('GATEHOUSE_KEY_SECRETS: a comma list of secrets of at least 32 characters', (t) => {
  t.deepEqual(loadConfig({ GATEHOUSE_KEY_SECRETS: 'k'.repeat(32) }).keySecrets, ['k'.repeat(32)]);
  refused(t, { GATEHOUSE_KEY_SECRETS: 'short' }, 'GATEHOUSE_KEY_SECRETS');
  refused(t, { GATEHOUSE_KEY_SECRETS: 'k'.repeat(31) }, 'GATEHOUSE_KEY_SECRETS');
  refused(t, { GATEHOUSE_KEY_SECRETS: `${'k'.repeat(32)},short` }, 'GATEHOUSE_KEY_SECRETS');
  const error = t.throws(() => loadConfig({ GATEHOUSE_KEY_SECRETS: 'tiny-secret' }));
  t.false(error?.message.includes('tiny-secret'), 'a secret is never echoed in the message');
});

test('GATEHOUSE_ARGON2_MEMORY_KIB and GATEHOUSE_ARGON2_ITERATIONS: whole numbers', (t) => {
  for (const variable of ['GATEHOUSE_ARGON2_MEMORY_KIB', 'GATEHOUSE_ARGON2_ITERATIONS']) {
    for (const value of ['abc', '-1', '1.5']) refused(t, { [variable]: value }, variable);
  }
  refused(t, { GATEHOUSE_ARGON2_ITERATIONS: '0' }, 'GATEHOUSE_ARGON2_ITERATIONS');
});

test('GATEHOUSE_ISSUER: https, or http for loopback hosts only', (t) => {
  for (const issuer of [
    'https://id.example.com',
    'https://id.example.com:8443',
    'https://example.com/tenants/a',
    'http://localhost:4000',
    'http://localhost',
    'http://127.0.0.1:4000',
    'http://127.1.2.3',
    'http://[::1]:4000',
  ]) {
    t.is(loadConfig({ GATEHOUSE_ISSUER: issuer }).issuer, issuer, issuer);
  }
  for (const issuer of [
    'http://example.com',
    'http://id.example.com:4000',
    'http://10.0.0.1:4000',
    'http://192.168.1.10',
    'http://0.0.0.0:4000',
    'http://[::]:4000',
    'http://[2001:db8::1]',
    'http://localhost.example.com',
    'http://127.0.0.1.nip.io',
    'ftp://id.example.com',
    'id.example.com',
    'not a url',
  ]) {
    refused(t, { GATEHOUSE_ISSUER: issuer }, 'GATEHOUSE_ISSUER');
  }
});

test('GATEHOUSE_ISSUER: no query and no fragment (RFC 8414 §2)', (t) => {
  for (const issuer of [
    'https://id.example.com/?tenant=a',
    'https://id.example.com?x',
    'https://id.example.com?',
    'https://id.example.com#top',
    'https://id.example.com/#',
    'http://localhost:4000/?a=b',
    'http://localhost:4000#x',
  ]) {
    refused(t, { GATEHOUSE_ISSUER: issuer }, 'GATEHOUSE_ISSUER');
  }
});

test('GATEHOUSE_TRUST_PROXY_HOPS: 0-16 proxies trusted; GATEHOUSE_TRUST_PROXY=true is one; the two cannot contradict', (t) => {
  t.is(loadConfig({}).trustProxyHops, 0, 'default: the socket address');
  t.is(loadConfig({ GATEHOUSE_TRUST_PROXY: 'true' }).trustProxyHops, 1);
  t.is(loadConfig({ GATEHOUSE_TRUST_PROXY: 'false' }).trustProxyHops, 0);
  t.is(loadConfig({ GATEHOUSE_TRUST_PROXY_HOPS: '2' }).trustProxyHops, 2);
  t.is(loadConfig({ GATEHOUSE_TRUST_PROXY_HOPS: '2', GATEHOUSE_TRUST_PROXY: 'true' }).trustProxyHops, 2);
  for (const value of ['-1', '17', 'yes', '1.5']) refused(t, { GATEHOUSE_TRUST_PROXY_HOPS: value }, 'GATEHOUSE_TRUST_PROXY_HOPS');
  refused(t, { GATEHOUSE_TRUST_PROXY_HOPS: '1', GATEHOUSE_TRUST_PROXY: 'false' }, 'GATEHOUSE_TRUST_PROXY');
  refused(t, { GATEHOUSE_TRUST_PROXY_HOPS: '0', GATEHOUSE_TRUST_PROXY: 'true' }, 'GATEHOUSE_TRUST_PROXY');
});

test('login load limits: concurrent checks per user and per address, and the Argon2 line', (t) => {
  const defaults = loadConfig({});
  t.deepEqual(defaults.loginConcurrency, { perUser: 2, perAddress: 16 });
  t.is(defaults.argon2QueueMax, 128);
  const set = loadConfig({ GATEHOUSE_LOGIN_CONCURRENCY_USER: '1', GATEHOUSE_LOGIN_CONCURRENCY_IP: '50', GATEHOUSE_ARGON2_QUEUE_MAX: '0' });
  t.deepEqual(set.loginConcurrency, { perUser: 1, perAddress: 50 });
  t.is(set.argon2QueueMax, 0);
  for (const name of ['GATEHOUSE_LOGIN_CONCURRENCY_USER', 'GATEHOUSE_LOGIN_CONCURRENCY_IP']) refused(t, { [name]: '0' }, name);
  refused(t, { GATEHOUSE_ARGON2_QUEUE_MAX: '-1' }, 'GATEHOUSE_ARGON2_QUEUE_MAX');
});
