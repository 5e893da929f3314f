import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { AmqpError, ConnectionError } from '@warren/protocol';
import { afterEach, describe, expect, test } from 'vitest';
import { connect } from './connection.js';
import { ConnectAttemptsError } from './endpoints.js';
import type { LogFields, Logger } from './logger.js';

const servers: Server[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) child.kill();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/**
 * Starts a TCP server on 127.0.0.1 that handles each connection with `reply`. It reads and
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

/** Returns a port on 127.0.0.1 that refuses connections, because its server has closed. */
async function refusedPort(): Promise<number> {
  const port = await listen(() => {});
  await new Promise((resolve) => servers.pop()!.close(resolve));
  return port;
}

/** Returns a logger that records every line with its level. */
function recordingLogger(): Logger & { lines: { level: string; message: string; fields: LogFields | undefined }[] } {
  const lines: { level: string; message: string; fields: LogFields | undefined }[] = [];
  const record = (level: string) => (message: string, fields?: LogFields) => lines.push({ level, message, fields });
  return { lines, debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
}

const PYTHON = spawnSync('python3', ['--version']).status === 0 ? 'python3' : undefined;

/**
 * A Python listener with a backlog of 0 whose accept queue is full, so that Linux drops further
 * SYNs and a TCP connect to its port stays pending. Node's `net.Server` always accepts, so it
 * cannot produce this. The process exits when the test kills it.
 */
const FULL_BACKLOG_SCRIPT = `
import socket, sys
server = socket.socket()
server.bind(('127.0.0.1', 0))
server.listen(0)
fillers = [socket.create_connection(server.getsockname())]
for _ in range(2):
    extra = socket.socket()
    extra.setblocking(False)
    extra.connect_ex(server.getsockname())
    fillers.append(extra)
print(server.getsockname()[1], flush=True)
sys.stdin.read()
`;

async function unansweredPort(): Promise<number> {
  const child = spawn(PYTHON!, ['-c', FULL_BACKLOG_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const output = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    child.once('exit', (code) => reject(new Error(`the backlog script exited with code ${code}`)));
  });
  return Number(output.trim());
}

describe('connect failures', () => {
  test('refused port names the address', async () => {
    const port = await refusedPort();
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

  test('one attempt keeps its own error class', async () => {
    const port = await refusedPort();

    const error = await connect({ hostname: '127.0.0.1', port }).catch((error: unknown) => error);

    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).not.toBeInstanceOf(ConnectAttemptsError);
  });

  test.skipIf(PYTHON === undefined)('unanswered TCP connect times out after socketTimeout', async () => {
    const port = await unansweredPort();

    const started = performance.now();
    await expect(connect({ hostname: '127.0.0.1', port, socketTimeout: 200 })).rejects.toMatchObject({
      code: 'CONNECT_TIMEOUT',
      source: 'network',
      retryable: true,
      message: `no TCP connection to 127.0.0.1:${port} within 200 ms`,
    });
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe('connect to several endpoints', () => {
  test('refused and silent endpoints in two rounds', async () => {
    const refused = await refusedPort();
    const silent = await listen(() => {});

    const error = await connect({
      endpoints: [`amqp://app:hunter2@127.0.0.1:${refused}/orders`, { hostname: '127.0.0.1', port: silent }],
      password: 'hunter2',
      connectionAttempts: 2,
      retryDelay: 10,
      connectionTimeout: 200,
    }).catch((error: unknown) => error as ConnectAttemptsError);

    expect(error).toBeInstanceOf(ConnectAttemptsError);
    expect(AmqpError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'CONNECT_FAILED', source: 'network', retryable: true });
    expect(error.attempts.map((attempt) => [attempt.endpoint, attempt.error.code])).toEqual([
      [`amqp://app@127.0.0.1:${refused}/orders`, 'CONNECT_FAILED'],
      [`amqp://guest@127.0.0.1:${silent}/%2F`, 'CONNECT_TIMEOUT'],
      [`amqp://app@127.0.0.1:${refused}/orders`, 'CONNECT_FAILED'],
      [`amqp://guest@127.0.0.1:${silent}/%2F`, 'CONNECT_TIMEOUT'],
    ]);
    expect(error.cause).toBe(error.attempts[3]!.error);
    expect(error.message).toMatch(/^could not connect after 4 attempts: 1\. amqp:\/\/app@127\.0\.0\.1:\d+\/orders: could not connect to/);
    expect(error.message).toContain(`; 2. amqp://guest@127.0.0.1:${silent}/%2F: no AMQP connection to 127.0.0.1:${silent} within 200 ms; 3. `);
    expect(error.message).not.toContain('hunter2');
  });

  test('URL list retries once by default', async () => {
    const first = await refusedPort();
    const second = await refusedPort();

    const urls = [`amqp://127.0.0.1:${first}`, `amqp://127.0.0.1:${second}`];

    const error = await connect(urls).catch((error: unknown) => error as ConnectAttemptsError);

    expect(error.attempts.map((attempt) => attempt.endpoint)).toEqual([
      `amqp://guest@127.0.0.1:${first}/%2F`,
      `amqp://guest@127.0.0.1:${second}/%2F`,
    ]);
  });

  test('rounds wait retryDelay', async () => {
    const port = await refusedPort();
    const logger = recordingLogger();

    const started = performance.now();
    const error = await connect({ hostname: '127.0.0.1', port, connectionAttempts: 3, retryDelay: 100, logger }).catch(
      (error: unknown) => error as ConnectAttemptsError,
    );

    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(error.attempts).toHaveLength(3);
    expect(logger.lines.filter((line) => line.level === 'debug').map((line) => line.message)).toEqual([
      `connecting to amqp://guest@127.0.0.1:${port}/%2F (attempt 1 of 3)`,
      'all 1 endpoints failed; retrying in 100 ms (round 2 of 3)',
      `connecting to amqp://guest@127.0.0.1:${port}/%2F (attempt 2 of 3)`,
      'all 1 endpoints failed; retrying in 100 ms (round 3 of 3)',
      `connecting to amqp://guest@127.0.0.1:${port}/%2F (attempt 3 of 3)`,
    ]);
  });

  test('long attempt lists are shortened', async () => {
    const port = await refusedPort();

    const error = await connect({ hostname: '127.0.0.1', port, connectionAttempts: 12, retryDelay: 0 }).catch(
      (error: unknown) => error as ConnectAttemptsError,
    );

    expect(error.attempts).toHaveLength(12);
    expect(error.message).toMatch(/^could not connect after 12 attempts: 2 earlier attempts omitted; 3\. amqp:/);
    expect(error.message).toContain('; 12. amqp://');
    expect(error.message).not.toContain(' 2. amqp://');
  });

  test('failed attempts are logged as warnings', async () => {
    const port = await refusedPort();
    const logger = recordingLogger();

    await connect({ url: `amqp://user:hunter2@127.0.0.1:${port}`, logger }).catch(() => {});

    const warnings = logger.lines.filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(new RegExp(`^connection attempt 1 of 1 to amqp://user@127.0.0.1:${port}/%2F failed: could not connect`));
    expect(warnings[0]!.fields).toEqual({ endpoint: `amqp://user@127.0.0.1:${port}/%2F`, attempt: 1, code: 'CONNECT_FAILED' });
    expect(JSON.stringify(logger.lines)).not.toContain('hunter2');
  });

  test('invalid option stops at the first endpoint', async () => {
    const first = await refusedPort();
    const second = await refusedPort();
    const logger = recordingLogger();

    await expect(connect({ endpoints: [`amqp://127.0.0.1:${first}`, `amqp://127.0.0.1:${second}`], heartbeat: 70_000, logger })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: expect.stringContaining('heartbeat'),
    });
    expect(logger.lines.filter((line) => line.message.startsWith('connecting'))).toHaveLength(1);
  });

  test('throwing logger does not break connect', async () => {
    const port = await refusedPort();
    const logger: Logger = {
      debug: () => {
        throw new Error('logger failed');
      },
      warn: () => {
        throw new Error('logger failed');
      },
    };

    await expect(connect({ hostname: '127.0.0.1', port, logger })).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
  });
});

describe('TLS options', () => {
  test('invalid key material is a typed error', async () => {
    await expect(connect({ url: 'amqps://127.0.0.1:1', tls: { key: 'not a key', cert: 'not a certificate' } })).rejects.toMatchObject({
      code: 'TLS_OPTIONS_INVALID',
      source: 'client',
    });
  });
});
