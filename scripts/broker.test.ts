import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';

import { afterEach, describe, expect, it } from 'vitest';

import { ensureBroker, parseBrokerAddress, probeBroker } from './broker.mjs';

const PROTOCOL_HEADER = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');

// Start of a connection.start frame: type 1 (method), channel 0, payload size, class 10, method 10.
const CONNECTION_START_PREFIX = Buffer.from([1, 0, 0, 0, 0, 0, 0x20, 0, 10, 0, 10]);

interface FakeBroker {
  port: number;
  /** Bytes received on each connection, complete once that connection has closed. */
  received: Buffer[];
  closedConnections: () => number;
}

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** Starts a TCP server on 127.0.0.1 that calls `onHeader` once a client has sent 8 bytes. */
async function startFakeBroker(
  onHeader: (socket: Socket, header: Buffer) => void,
  server: Server = createServer(),
  connectionEvent = 'connection',
): Promise<FakeBroker> {
  const received: Buffer[] = [];
  let closed = 0;

  server.on(connectionEvent, (socket: Socket) => {
    const index = received.push(Buffer.alloc(0)) - 1;
    let replied = false;

    socket.on('data', (chunk: Buffer) => {
      received[index] = Buffer.concat([received[index], chunk]);
      if (!replied && received[index].length >= 8) {
        replied = true;
        onHeader(socket, received[index]);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed += 1;
    });
  });

  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { port, received, closedConnections: () => closed };
}

/** Returns a port on 127.0.0.1 that nothing listens on, by closing a server that just had it. */
async function findClosedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('probeBroker', () => {
  it('returns true on connection.start', async () => {
    const broker = await startFakeBroker((socket) => socket.write(CONNECTION_START_PREFIX));

    const up = await probeBroker({ host: '127.0.0.1', port: broker.port, timeoutMs: 2_000 });

    expect(up).toBe(true);
  });

  it('sends the protocol header and closes', async () => {
    const broker = await startFakeBroker((socket) => socket.write(CONNECTION_START_PREFIX));

    await probeBroker({ host: '127.0.0.1', port: broker.port, timeoutMs: 2_000 });
    await waitFor(() => broker.closedConnections() === 1);

    expect(broker.received).toHaveLength(1);
    expect(broker.received[0]).toEqual(PROTOCOL_HEADER);
  });

  it('returns true when the frame arrives in pieces', async () => {
    const broker = await startFakeBroker((socket) => {
      socket.write(CONNECTION_START_PREFIX.subarray(0, 1));
      setTimeout(() => socket.write(CONNECTION_START_PREFIX.subarray(1)), 50);
    });

    expect(await probeBroker({ host: '127.0.0.1', port: broker.port, timeoutMs: 2_000 })).toBe(true);
  });

  it('returns false on a protocol header reply', async () => {
    // A broker that does not support 0-9-1 replies with the version it does support.
    const broker = await startFakeBroker((socket) => socket.end(Buffer.from('AMQP\x00\x01\x00\x00', 'latin1')));

    expect(await probeBroker({ host: '127.0.0.1', port: broker.port, timeoutMs: 2_000 })).toBe(false);
  });

  it('returns false on a garbage reply', async () => {
    const broker = await startFakeBroker((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));

    expect(await probeBroker({ host: '127.0.0.1', port: broker.port, timeoutMs: 2_000 })).toBe(false);
  });

  it('returns false on a heartbeat-type byte', async () => {
    // Frame type 8 is a heartbeat. Only a method frame (type 1) can be connection.start.
    const broker = await startFakeBroker((socket) => socket.write(Buffer.from([8, 0, 0, 0, 0, 0, 0, 0xce])));

    expect(await probeBroker({ host: '127.0.0.1', port: broker.port, timeoutMs: 2_000 })).toBe(false);
  });

  it('returns false when the server closes', async () => {
    const broker = await startFakeBroker((socket) => socket.end());

    expect(await probeBroker({ host: '127.0.0.1', port: broker.port, timeoutMs: 2_000 })).toBe(false);
  });

  it('returns false when the server resets', async () => {
    const broker = await startFakeBroker((socket) => socket.resetAndDestroy());

    expect(await probeBroker({ host: '127.0.0.1', port: broker.port, timeoutMs: 2_000 })).toBe(false);
  });

  it('returns false after timeout on silence', async () => {
    const broker = await startFakeBroker(() => {});

    const startedAt = Date.now();
    const up = await probeBroker({ host: '127.0.0.1', port: broker.port, timeoutMs: 200 });
    const elapsedMs = Date.now() - startedAt;
    await waitFor(() => broker.closedConnections() === 1);

    expect(up).toBe(false);
    expect(elapsedMs).toBeGreaterThanOrEqual(150);
    expect(elapsedMs).toBeLessThan(1_500);
  });

  it('returns false on a closed port', async () => {
    const port = await findClosedPort();

    expect(await probeBroker({ host: '127.0.0.1', port, timeoutMs: 2_000 })).toBe(false);
  });

  it('returns false for TLS against plain TCP', async () => {
    const broker = await startFakeBroker((socket) => socket.write(CONNECTION_START_PREFIX));

    expect(await probeBroker({ host: '127.0.0.1', port: broker.port, timeoutMs: 500, tls: true })).toBe(false);
  });

  it.skipIf(!hasOpenssl())('returns true over TLS', async () => {
    const { key, cert } = makeSelfSignedCertificate();
    const server = createTlsServer({ key, cert });
    const broker = await startFakeBroker(
      (socket) => socket.write(CONNECTION_START_PREFIX),
      server,
      'secureConnection',
    );

    const up = await probeBroker({ host: '127.0.0.1', port: broker.port, timeoutMs: 2_000, tls: true });

    expect(up).toBe(true);
    expect(broker.received[0]).toEqual(PROTOCOL_HEADER);
  });
});

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Makes a throwaway self-signed certificate for localhost with the openssl command. */
function makeSelfSignedCertificate(): { key: Buffer; cert: Buffer } {
  const directory = mkdtempSync(join(tmpdir(), 'warren-broker-test-'));
  try {
    const keyPath = join(directory, 'key.pem');
    const certPath = join(directory, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-nodes', '-days', '1', '-subj', '/CN=localhost',
        '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
        '-keyout', keyPath, '-out', certPath,
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(keyPath), cert: readFileSync(certPath) };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

describe('parseBrokerAddress', () => {
  const cases = [
    {
      url: 'amqp://guest:guest@127.0.0.1:5672',
      expected: { scheme: 'amqp', host: '127.0.0.1', port: 5672, tls: false, loopback: true, display: 'amqp://127.0.0.1:5672' },
    },
    {
      url: 'amqp://localhost',
      expected: { scheme: 'amqp', host: 'localhost', port: 5672, tls: false, loopback: true, display: 'amqp://localhost:5672' },
    },
    {
      url: 'amqp://127.0.0.2:5673/%2f',
      expected: { scheme: 'amqp', host: '127.0.0.2', port: 5673, tls: false, loopback: true, display: 'amqp://127.0.0.2:5673' },
    },
    {
      url: 'amqps://broker.example.com',
      expected: { scheme: 'amqps', host: 'broker.example.com', port: 5671, tls: true, loopback: false, display: 'amqps://broker.example.com:5671' },
    },
    {
      url: 'amqps://user:pass@broker.example.com:5999/production',
      expected: { scheme: 'amqps', host: 'broker.example.com', port: 5999, tls: true, loopback: false, display: 'amqps://broker.example.com:5999' },
    },
    {
      url: 'AMQP://Broker.Example.COM',
      expected: { scheme: 'amqp', host: 'broker.example.com', port: 5672, tls: false, loopback: false, display: 'amqp://broker.example.com:5672' },
    },
    {
      url: 'amqp://[::1]',
      expected: { scheme: 'amqp', host: '::1', port: 5672, tls: false, loopback: true, display: 'amqp://[::1]:5672' },
    },
    {
      url: 'amqp://guest:guest@[::1]:5673/',
      expected: { scheme: 'amqp', host: '::1', port: 5673, tls: false, loopback: true, display: 'amqp://[::1]:5673' },
    },
    {
      url: 'amqps://[2001:db8::5]',
      expected: { scheme: 'amqps', host: '2001:db8::5', port: 5671, tls: true, loopback: false, display: 'amqps://[2001:db8::5]:5671' },
    },
    {
      url: 'amqp://10.0.0.5:5672',
      expected: { scheme: 'amqp', host: '10.0.0.5', port: 5672, tls: false, loopback: false, display: 'amqp://10.0.0.5:5672' },
    },
  ];

  it.each(cases)('parses $url', ({ url, expected }) => {
    expect(parseBrokerAddress(url)).toEqual(expected);
  });

  it('hides percent-encoded credentials', () => {
    const address = parseBrokerAddress('amqp://app%40team:s3cr%3At%2Fpw@127.0.0.1:5672/%2f');
    const printed = JSON.stringify(address);

    expect(printed).not.toContain('app');
    expect(printed).not.toContain('s3cr');
    expect(printed).not.toContain('%3A');
    expect(printed).not.toContain('t/pw');
    expect(address.display).toBe('amqp://127.0.0.1:5672');
  });

  const invalidCases = [
    { name: 'unparsable URL', url: 'not a url with s3cret' },
    { name: 'non-numeric port', url: 'amqp://user:s3cret@localhost:abc' },
    { name: 'port out of range', url: 'amqp://user:s3cret@localhost:70000' },
    { name: 'port 0', url: 'amqp://user:s3cret@localhost:0' },
    { name: 'wrong scheme', url: 'http://user:s3cret@localhost:5672' },
    { name: 'missing host', url: 'amqp://user:s3cret@' },
  ];

  it.each(invalidCases)('rejects $name without the password', ({ url }) => {
    let message = '';
    try {
      parseBrokerAddress(url);
    } catch (error) {
      message = (error as Error).message;
    }

    expect(message).toMatch(/invalid broker URL/);
    expect(message).not.toContain('s3cret');
  });
});

describe('ensureBroker', () => {
  it('returns the address of a running broker', async () => {
    const broker = await startFakeBroker((socket) => socket.write(CONNECTION_START_PREFIX));
    const lines: string[] = [];

    const address = await ensureBroker(`amqp://user:s3cret@127.0.0.1:${broker.port}`, (line) => lines.push(line));

    expect(address.port).toBe(broker.port);
    expect(lines).toEqual([`broker responds at amqp://127.0.0.1:${broker.port}`]);
  });

  it('rejects loopback amqps without starting RabbitMQ', async () => {
    const port = await findClosedPort();
    const lines: string[] = [];

    const result = ensureBroker(`amqps://user:s3cret@127.0.0.1:${port}`, (line) => lines.push(line));

    await expect(result).rejects.toThrow(/TLS listener/);
    expect(lines.join('\n')).not.toContain('s3cret');
    expect(lines.join('\n')).not.toContain('starting RabbitMQ');
  });
});
