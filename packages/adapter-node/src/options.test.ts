import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { type ConnectOptions, parseUrl, resolveOptions } from './options.js';

/** Resolves `target` and returns the settings of its only endpoint. */
function resolveOne(target: Parameters<typeof resolveOptions>[0]) {
  const plan = resolveOptions(target);
  expect(plan.endpoints).toHaveLength(1);
  return plan.endpoints[0]!;
}

describe('parseUrl', () => {
  // One row per rule of RabbitMQ's URI spec and of the query parameters.
  test.each<[string, string, ConnectOptions]>([
    ['host only', 'amqp://127.0.0.1', { hostname: '127.0.0.1' }],
    ['every part', 'amqp://user:pass@host:5673/vhost', { hostname: 'host', port: 5673, username: 'user', password: 'pass', vhost: 'vhost' }],
    ['nothing', 'amqp://', {}],
    ['scheme in capitals', 'AMQP://host', { hostname: 'host' }],
    ['amqps sets TLS', 'amqps://host', { hostname: 'host', tls: {} }],
    ['empty port means the default', 'amqp://host:', { hostname: 'host' }],
    ['port without host', 'amqp://:10000', { port: 10000 }],
    ['no path sets no vhost', 'amqp://host', { hostname: 'host' }],
    ['slash alone is the empty vhost', 'amqp://host/', { hostname: 'host', vhost: '' }],
    ['%2F is the vhost /', 'amqp://host/%2F', { hostname: 'host', vhost: '/' }],
    ['lower-case %2f', 'amqp://host/%2f', { hostname: 'host', vhost: '/' }],
    ['encoded slash inside a vhost', 'amqp://host/a%2Fb', { hostname: 'host', vhost: 'a/b' }],
    ['vhost without host', 'amqp:///vhost', { vhost: 'vhost' }],
    ['percent-decoded user, password and host', 'amqp://user%61:%61pass@ho%61st:10000/v%2fhost', { username: 'usera', password: 'apass', hostname: 'hoast', port: 10000, vhost: 'v/host' }],
    ['encoded @ and : in credentials', 'amqp://us%40er:p%3Ass@host', { hostname: 'host', username: 'us@er', password: 'p:ss' }],
    ['empty user and password', 'amqp://:@host', { hostname: 'host', username: '', password: '' }],
    ['empty user, password and vhost', 'amqp://:@/', { username: '', password: '', vhost: '' }],
    ['user without password', 'amqp://user@host', { hostname: 'host', username: 'user' }],
    ['colon in the password', 'amqp://user:pa:ss@host', { hostname: 'host', username: 'user', password: 'pa:ss' }],
    ['the last @ ends the user information', 'amqp://user:p@ss@host', { hostname: 'host', username: 'user', password: 'p@ss' }],
    ['IPv6 address', 'amqp://[::1]:5672', { hostname: '::1', port: 5672 }],
    ['IPv6 address without port', 'amqp://[::1]/v', { hostname: '::1', vhost: 'v' }],
    ['surrounding whitespace', '  amqp://host \n', { hostname: 'host' }],
    ['tuning parameters', 'amqp://host?heartbeat=30&frame_max=8192&channel_max=10', { hostname: 'host', heartbeat: 30, frameMax: 8192, channelMax: 10 }],
    ['timeout and name', 'amqp://host?connection_timeout=500&connection_name=orders', { hostname: 'host', connectionTimeout: 500, connectionName: 'orders' }],
    ['encoded name', 'amqp://host?connection_name=a%20b%2Bc', { hostname: 'host', connectionName: 'a b+c' }],
    ['encoded @ in vhost and query', 'amqp://u@host/a%40b?connection_name=me%40example', { username: 'u', hostname: 'host', vhost: 'a@b', connectionName: 'me@example' }],
    ['raw @ in vhost after credentials', 'amqp://u@host/a@b', { username: 'u', hostname: 'host', vhost: 'a@b' }],
    ['auth_mechanism amqplain', 'amqp://host?auth_mechanism=amqplain', { hostname: 'host', mechanism: 'AMQPLAIN' }],
    ['auth_mechanism in any case', 'amqp://host?auth_mechanism=PLAIN', { hostname: 'host', mechanism: 'PLAIN' }],
    ['auth_mechanism external', 'amqps://host?auth_mechanism=external', { hostname: 'host', mechanism: 'EXTERNAL', tls: {} }],
    [
      'TLS files',
      'amqps://host?cacertfile=/tls/ca.pem&certfile=/tls/client.pem&keyfile=/tls/key.pem',
      { hostname: 'host', tls: { caFile: '/tls/ca.pem', certFile: '/tls/client.pem', keyFile: '/tls/key.pem' } },
    ],
    ['verify_peer', 'amqps://host?verify=verify_peer', { hostname: 'host', tls: { rejectUnauthorized: true } }],
    ['verify_none', 'amqps://host?verify=verify_none', { hostname: 'host', tls: { rejectUnauthorized: false } }],
    ['server_name_indication names a host', 'amqps://10.0.0.1?server_name_indication=rabbit.example', { hostname: '10.0.0.1', tls: { servername: 'rabbit.example' } }],
    ['server_name_indication=disable', 'amqps://host?server_name_indication=disable', { hostname: 'host', tls: { servername: false } }],
  ])('%s: %s', (_rule, url, expected) => {
    expect(parseUrl(url)).toStrictEqual(expected);
  });

  test.each([
    ['http://host', 'URL scheme "http" is not supported; use amqp: or amqps:'],
    ['not a url', 'expected amqp://[user[:password]@]host[:port][/vhost][?query]'],
    ['amqp://host/a/b', 'the vhost in the URL contains an unencoded "/"; write it as %2F'],
    ['amqp://host:0', 'the port in the URL must be a number from 1 to 65535'],
    ['amqp://host:65536', 'the port in the URL must be a number from 1 to 65535'],
    ['amqp://host:12ab', 'the port in the URL must be a number from 1 to 65535'],
    ['amqp://::1', 'the port in the URL must be a number from 1 to 65535'],
    ['amqp://[::1', 'the IPv6 address in the URL has no closing "]"'],
    ['amqp://[::1]x', 'the IPv6 address in the URL must be followed by ":port" or nothing'],
    ['amqp://host/%zz', 'the vhost in the URL has an invalid percent-encoding'],
    ['amqp://us%zzer@host', 'the user name in the URL has an invalid percent-encoding'],
    ['amqp://ho%zzst', 'the host in the URL has an invalid percent-encoding'],
    ['amqp://host#section', 'a URL fragment (#) is not supported'],
    ['amqp://host?heartbeat=-1', 'query parameter heartbeat must be a non-negative integer; got "-1"'],
    ['amqp://host?frame_max=1.5', 'query parameter frame_max must be a non-negative integer; got "1.5"'],
    ['amqp://host?channel_max=', 'query parameter channel_max must be a non-negative integer; got ""'],
    ['amqp://host?connection_timeout=soon', 'query parameter connection_timeout must be a non-negative integer; got "soon"'],
    ['amqp://host?heartbeat=1&heartbeat=2', 'query parameter heartbeat appears more than once'],
    ['amqp://host?auth_mechanism=scram-sha-256', 'query parameter auth_mechanism must be plain, amqplain or external; got "scram-sha-256"'],
    ['amqp://host?bogus=1', 'unknown query parameter "bogus"; supported: heartbeat, frame_max'],
    ['amqps://host?fail_if_no_peer_cert=true', 'unknown query parameter "fail_if_no_peer_cert"'],
    ['amqp://host?cacertfile=/ca.pem', 'query parameter cacertfile configures TLS, so it needs an amqps: URL'],
    ['amqp://host?verify=verify_none', 'query parameter verify configures TLS, so it needs an amqps: URL'],
    ['amqps://host?verify=yes', 'query parameter verify must be verify_peer or verify_none; got "yes"'],
    ['amqps://host?server_name_indication=', 'query parameter server_name_indication must be a host name or "disable"'],
    ['amqps://host?keyfile=', 'query parameter keyfile must be a file path'],
    ['amqp://host/a@b', 'an "@" follows the host; percent-encode'],
    ['amqp://host?connection_name=me@example', 'an "@" follows the host; percent-encode'],
  ])('%s is rejected', (url, message) => {
    expect(() => parseUrl(url)).toThrow(expect.objectContaining({ code: 'INVALID_URL', message: expect.stringContaining(message) }));
  });

  test.each([
    'amqp://user:secret@host:notaport',
    'amqp://user:se/cret@host',
    'amqp://user:se?cret@host',
    'amqp://user:se#cret@host',
    'amqp://user:%zzsecret@host',
    'amqp://user:?secret@host',
    'amqp://user:/secret@host',
    'amqp://user:?heartbeat=secret@host',
  ])('password stays out of the error for %s', (url) => {
    expect(() => parseUrl(url)).toThrow(expect.objectContaining({ message: expect.not.stringMatching(/secret|cret/) }));
  });
});

describe('resolveOptions', () => {
  test('defaults to the local guest account', () => {
    expect(resolveOne(undefined)).toMatchObject({
      endpoint: 'amqp://guest@127.0.0.1:5672/%2F',
      hostname: '127.0.0.1',
      port: 5672,
      username: 'guest',
      password: 'guest',
      vhost: '/',
      tls: undefined,
      socketTimeout: 10_000,
      connectionTimeout: 30_000,
    });
    expect(resolveOne(undefined).mechanism.name).toBe('PLAIN');
  });

  test('options override the URL', () => {
    expect(resolveOne({ url: 'amqp://a:b@host:1/v', port: 2, vhost: 'w' })).toMatchObject({ hostname: 'host', port: 2, username: 'a', vhost: 'w' });
  });

  test('default ports follow TLS', () => {
    expect(resolveOne('amqp://host').port).toBe(5672);
    expect(resolveOne('amqps://host').port).toBe(5671);
    expect(resolveOne({ hostname: 'host', tls: true }).port).toBe(5671);
    expect(resolveOne({ url: 'amqps://host', tls: false }).port).toBe(5672);
    expect(resolveOne('amqps://host:5672').port).toBe(5672);
  });

  test('verification is on by default', () => {
    expect(resolveOne('amqps://host').tls).toEqual({ servername: 'host', rejectUnauthorized: true });
  });

  test('verify_none and rejectUnauthorized turn verification off', () => {
    expect(resolveOne('amqps://host?verify=verify_none').tls?.rejectUnauthorized).toBe(false);
    expect(resolveOne({ url: 'amqps://host', tls: { rejectUnauthorized: false } }).tls?.rejectUnauthorized).toBe(false);
  });

  test('options override URL TLS settings', () => {
    expect(resolveOne({ url: 'amqps://host?verify=verify_none', tls: { rejectUnauthorized: true } }).tls?.rejectUnauthorized).toBe(true);
  });

  test.each([
    ['a host name', 'amqps://rabbit.example', 'rabbit.example'],
    ['an IPv4 address', 'amqps://127.0.0.1', undefined],
    ['an IPv6 address', 'amqps://[::1]', undefined],
    ['an explicit name', 'amqps://127.0.0.1?server_name_indication=localhost', 'localhost'],
    ['disable', 'amqps://rabbit.example?server_name_indication=disable', undefined],
  ])('SNI for %s', (_case, url, servername) => {
    expect(resolveOne(url).tls?.servername).toBe(servername);
  });

  test('auth mechanism by name', () => {
    expect(resolveOne('amqp://host?auth_mechanism=amqplain').mechanism.name).toBe('AMQPLAIN');
    expect(resolveOne({ mechanism: 'EXTERNAL' }).mechanism.name).toBe('EXTERNAL');
  });

  test('custom mechanism is used as given', () => {
    const mechanism = { name: 'X-TOKEN', initialResponse: () => new Uint8Array([1]) };

    expect(resolveOne({ mechanism }).mechanism).toBe(mechanism);
  });

  test('retry settings and defaults', () => {
    expect(resolveOptions(undefined)).toMatchObject({ connectionAttempts: 1, retryDelay: 2000 });
    expect(resolveOptions({ connectionAttempts: 3, retryDelay: 0 })).toMatchObject({ connectionAttempts: 3, retryDelay: 0 });
  });

  test.each<[string, ConnectOptions, string]>([
    ['zero attempts', { connectionAttempts: 0 }, 'option connectionAttempts must be an integer from 1 to 9007199254740991; got 0'],
    ['negative delay', { retryDelay: -1 }, 'option retryDelay must be an integer from 0 to 2147483647; got -1'],
    ['fractional socket timeout', { socketTimeout: 1.5 }, 'option socketTimeout must be an integer from 1 to 2147483647; got 1.5'],
    ['zero connection timeout', { connectionTimeout: 0 }, 'option connectionTimeout must be an integer from 1 to 2147483647; got 0'],
    ['port out of range', { hostname: 'host', port: 70000 }, 'option port must be an integer from 1 to 65535; got 70000'],
    ['empty endpoints', { endpoints: [] }, 'option endpoints must be a non-empty array'],
    ['url with endpoints', { url: 'amqp://a', endpoints: ['amqp://b'] }, 'option url cannot be combined with endpoints'],
    ['port with endpoints', { port: 5672, endpoints: ['amqp://b'] }, 'option port cannot be combined with endpoints'],
    ['endpoint without host', { endpoints: [{} as never] }, 'each endpoint must be a URL string or an object with a hostname'],
    ['unknown mechanism', { mechanism: 'CRAM-MD5' as never }, 'option mechanism must be PLAIN, AMQPLAIN, EXTERNAL or an object'],
    ['invalid frame trace', { frameTrace: 'yes' as never }, 'option frameTrace must be true or a function'],
    ['ca and caFile', { url: 'amqps://host?cacertfile=/ca.pem', tls: { ca: 'PEM' } }, 'options tls.ca and tls.caFile are both set; set one'],
  ])('%s is rejected', (_case, options, message) => {
    expect(() => resolveOptions(options)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringContaining(message) }));
  });
});

describe('resolveOptions endpoints', () => {
  test('a list of URLs', () => {
    const plan = resolveOptions(['amqp://a', 'amqps://user@b/v']);

    expect(plan.endpoints.map((endpoint) => endpoint.endpoint)).toEqual(['amqp://guest@a:5672/%2F', 'amqps://user@b:5671/v']);
  });

  test('shared options apply to each endpoint', () => {
    const plan = resolveOptions({ endpoints: ['amqp://a', { hostname: 'b', port: 5673 }], username: 'app', vhost: 'orders', heartbeat: 5 });

    expect(plan.endpoints).toMatchObject([
      { hostname: 'a', port: 5672, username: 'app', vhost: 'orders', heartbeat: 5 },
      { hostname: 'b', port: 5673, username: 'app', vhost: 'orders', heartbeat: 5 },
    ]);
  });

  test('shared options override endpoint URLs', () => {
    const plan = resolveOptions({ endpoints: ['amqp://u:p@a/x'], username: 'app' });

    expect(plan.endpoints[0]).toMatchObject({ username: 'app', password: 'p', vhost: 'x' });
  });

  test('endpoint TLS merges over shared TLS', () => {
    const plan = resolveOptions({
      endpoints: [{ hostname: 'a' }, { hostname: 'b', tls: false }, { hostname: 'c', tls: { servername: 'c.example' } }, 'amqps://d'],
      tls: { ca: 'PEM', rejectUnauthorized: false },
    });

    expect(plan.endpoints.map((endpoint) => endpoint.tls)).toEqual([
      { ca: 'PEM', servername: 'a', rejectUnauthorized: false },
      undefined,
      { ca: 'PEM', servername: 'c.example', rejectUnauthorized: false },
      { ca: 'PEM', servername: 'd', rejectUnauthorized: false },
    ]);
  });
});

describe('resolveOptions TLS files', () => {
  const folder = mkdtempSync(join(tmpdir(), 'warren-options-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  test('URL file parameters are read', () => {
    for (const name of ['ca', 'cert', 'key']) writeFileSync(join(folder, `${name}.pem`), `${name} contents`);
    const url = `amqps://host?cacertfile=${join(folder, 'ca.pem')}&certfile=${join(folder, 'cert.pem')}&keyfile=${join(folder, 'key.pem')}`;

    const tls = resolveOne(url).tls!;

    expect(String(tls.ca)).toBe('ca contents');
    expect(String(tls.cert)).toBe('cert contents');
    expect(String(tls.key)).toBe('key contents');
  });

  test('missing file names the path', () => {
    const path = join(folder, 'missing.pem');

    expect(() => resolveOptions({ url: 'amqps://host', tls: { caFile: path } })).toThrow(
      expect.objectContaining({
        code: 'TLS_FILE_UNREADABLE',
        message: expect.stringContaining(`could not read the CA certificate file "${path}" (tls.caFile): ENOENT`),
        cause: expect.objectContaining({ code: 'ENOENT' }),
      }),
    );
  });
});

describe('secrets in resolved options', () => {
  const options = resolveOne({
    url: 'amqps://user:hunter2@host',
    tls: { key: 'PRIVATE KEY', pfx: Buffer.from('PFX BUNDLE'), passphrase: 'swordfish' },
  });

  test('properties stay readable', () => {
    expect(options.password).toBe('hunter2');
    expect(options.tls?.passphrase).toBe('swordfish');
  });

  test('util.inspect hides them', () => {
    const text = inspect(options, { depth: 10 });

    expect(text).not.toMatch(/hunter2|swordfish|PRIVATE KEY|PFX BUNDLE/);
    expect(text).toContain("endpoint: 'amqps://user@host:5671/%2F'");
    expect(text).toContain("password: '<hidden>'");
  });

  test('JSON.stringify hides them', () => {
    const text = JSON.stringify(options);

    expect(text).not.toMatch(/hunter2|swordfish|PRIVATE KEY|PFX BUNDLE/);
    expect(JSON.parse(text)).toMatchObject({ username: 'user', password: '<hidden>', mechanism: 'PLAIN' });
  });

  test('custom mechanism is shown by name only', () => {
    const mechanism = { name: 'X-TOKEN', token: 'bearer-secret', initialResponse: () => new Uint8Array(0) };

    expect(inspect(resolveOne({ mechanism }))).not.toContain('bearer-secret');
  });
});
