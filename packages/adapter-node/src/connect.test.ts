import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { connect } from './connection.js';
import { parseUrl, redact, resolveOptions } from './options.js';

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/**
 * Starts a TCP server on 127.0.0.1 that answers each connection with `reply`. It reads and
 * discards what the client sends, so it sees the client's end and `close()` can finish.
 */
async function listen(reply: (socket: Socket) => void): Promise<number> {
  const server = createServer((socket) => {
    socket.resume();
    reply(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('connect failures', () => {
  test('refused port names the address', async () => {
    const port = await listen(() => {});
    await new Promise((resolve) => servers.pop()!.close(resolve));
    await expect(connect({ hostname: '127.0.0.1', port })).rejects.toMatchObject({
      code: 'CONNECT_FAILED',
      source: 'network',
      retryable: true,
      message: expect.stringContaining(`could not connect to 127.0.0.1:${port}`),
    });
  });

  test('HTTP server is not AMQP', async () => {
    const port = await listen((socket) => {
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    await expect(connect({ hostname: '127.0.0.1', port })).rejects.toMatchObject({ code: 'SERVER_NOT_AMQP' });
  });

  test('silent server times out', async () => {
    const port = await listen(() => {});
    await expect(connect({ hostname: '127.0.0.1', port, connectionTimeout: 200 })).rejects.toMatchObject({
      code: 'CONNECT_TIMEOUT',
      message: `no AMQP connection to 127.0.0.1:${port} within 200 ms`,
    });
  });

  test('hang-up before start is a lost connection', async () => {
    const port = await listen((socket) => socket.destroy());
    await expect(connect({ hostname: '127.0.0.1', port })).rejects.toMatchObject({ code: 'CONNECTION_LOST' });
  });

  test('invalid URL rejects without connecting', async () => {
    await expect(connect('amqp://127.0.0.1?foo=1')).rejects.toMatchObject({ code: 'INVALID_URL' });
  });
});

describe('parseUrl', () => {
  test.each([
    ['amqp://127.0.0.1', { hostname: '127.0.0.1' }],
    ['amqp://user:pass@host:5673/vhost', { hostname: 'host', port: 5673, username: 'user', password: 'pass', vhost: 'vhost' }],
    ['amqp://host/', { hostname: 'host', vhost: '' }],
    ['amqp://host/%2F', { hostname: 'host', vhost: '/' }],
    ['amqp://host/a%2Fb', { hostname: 'host', vhost: 'a/b' }],
    ['amqp://us%40er:p%3Ass@host', { hostname: 'host', username: 'us@er', password: 'p:ss' }],
    ['amqp://[::1]:5672', { hostname: '::1', port: 5672 }],
    ['amqp://host?heartbeat=30&frame_max=8192&channel_max=10', { hostname: 'host', heartbeat: 30, frameMax: 8192, channelMax: 10 }],
    ['amqp://host?connection_timeout=500&connection_name=orders', { hostname: 'host', connectionTimeout: 500, connectionName: 'orders' }],
  ])('%s', (url, expected) => {
    expect(parseUrl(url)).toEqual(expected);
  });

  test.each([
    ['amqp://host?heartbeat=-1', 'query parameter heartbeat must be a non-negative integer'],
    ['amqp://host?bogus=1', 'unknown query parameter "bogus"'],
    ['amqp://host/a/b', 'contains an unencoded "/"'],
    ['http://host', 'URL scheme "http" is not supported'],
    ['not a url', 'is not a valid URL'],
  ])('%s is rejected', (url, message) => {
    expect(() => parseUrl(url)).toThrow(message);
  });

  test('password never appears in the error', () => {
    expect(() => parseUrl('amqp://user:secret@host:notaport')).toThrow(expect.objectContaining({ message: expect.not.stringContaining('secret') }));
  });

  test('redact hides the password', () => {
    expect(redact('amqp://user:secret@host/vhost')).toBe('amqp://user:***@host/vhost');
  });
});

describe('resolveOptions', () => {
  test('defaults to the local guest account', () => {
    expect(resolveOptions(undefined)).toMatchObject({ hostname: '127.0.0.1', port: 5672, username: 'guest', password: 'guest', vhost: '/' });
  });

  test('options override the URL', () => {
    expect(resolveOptions({ url: 'amqp://a:b@host:1/v', port: 2, vhost: 'w' })).toMatchObject({ hostname: 'host', port: 2, username: 'a', vhost: 'w' });
  });
});
