import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, expect, test } from 'vitest';
import { resolveOptions } from './options.js';
import { openTransport, tlsHandshakeError } from './transport.js';

/** Settings of a connection to a port that nothing listens on, so no byte reaches a server. */
function endpoint(url: string) {
  return resolveOptions({ url, writeHighWaterMark: 12_345 }).endpoints[0]!;
}

describe('openTransport', () => {
  test.each([
    ['TCP', 'amqp://127.0.0.1:1', 'connect'],
    ['TLS', 'amqps://127.0.0.1:1', 'secureConnect'],
  ])('%s socket takes writeHighWaterMark', async (_kind, url, readyEvent) => {
    const transport = openTransport(endpoint(url), () => {});
    const failed = new Promise((resolve) => transport.socket.once('error', resolve));

    expect(transport.readyEvent).toBe(readyEvent);
    expect(transport.socket.writableHighWaterMark).toBe(12_345);
    await failed;
  });
});

describe('TCP transport', () => {
  test('reads into one reused buffer', async () => {
    const server = createServer((socket) => {
      socket.write(Buffer.from([1, 2, 3]));
      setTimeout(() => socket.end(Buffer.from([4, 5])), 50);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const reads: Array<{ bytes: number[]; buffer: ArrayBufferLike; reused: boolean }> = [];
    try {
      const transport = openTransport(endpoint(`amqp://127.0.0.1:${port}`), (chunk, chunkReused) => {
        reads.push({ bytes: [...chunk], buffer: chunk.buffer, reused: chunkReused });
      });
      await once(transport.socket, 'close');
    } finally {
      server.close();
    }

    expect(reads.map((read) => read.bytes)).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    expect(reads.every((read) => read.reused)).toBe(true);
    expect(reads[1]!.buffer).toBe(reads[0]!.buffer);
  });
});

describe('tlsHandshakeError', () => {
  const options = endpoint('amqps://localhost:5671');

  test.each([
    ['DEPTH_ZERO_SELF_SIGNED_CERT', false],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', false],
    ['CERT_HAS_EXPIRED', false],
    ['ERR_TLS_CERT_ALTNAME_INVALID', false],
    ['ECONNRESET', true],
    ['ERR_SSL_WRONG_VERSION_NUMBER', true],
  ])('%s is retryable: %s', (code, retryable) => {
    const cause = Object.assign(new Error('handshake failed'), { code });

    const error = tlsHandshakeError(options, cause);

    expect(error).toMatchObject({ code: 'TLS_HANDSHAKE_FAILED', source: 'network', retryable, cause });
    expect(error.message.startsWith('TLS handshake with localhost:5671 failed: handshake failed')).toBe(true);
  });
});
