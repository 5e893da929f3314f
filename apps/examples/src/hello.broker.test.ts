/**
 * Runs the hello example against RabbitMQ at AMQP_URL, by default
 * amqp://guest:guest@127.0.0.1:5672. The example declares an exclusive server-named queue and
 * deletes it, and closes its connection even when it fails.
 */
import { connect as connectTcp } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { runHello } from './hello.js';

const BROKER_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';

/** Rejects with an error that explains how to start a broker when nothing accepts TCP at `url`. */
async function assertBrokerReachable(url: string): Promise<void> {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const port = Number(parsed.port || 5672);
  const hint = 'Start RabbitMQ (`npm test` starts a local one) or set AMQP_URL to a running broker.';

  await new Promise<void>((resolve, reject) => {
    const socket = connectTcp({ host, port });
    socket.setTimeout(5000);
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`connection to the AMQP broker at ${host}:${port} timed out after 5 s. ${hint}`));
    });
    socket.once('error', (error) => {
      reject(new Error(`connection to the AMQP broker at ${host}:${port} failed (${error.message}). ${hint}`));
    });
  });
}

beforeAll(async () => {
  await assertBrokerReachable(BROKER_URL);
});

describe('runHello', () => {
  it('moves 2000 messages and logs rates', async () => {
    const lines: string[] = [];

    const result = await runHello({
      url: BROKER_URL,
      count: 2000,
      size: 100,
      prefetch: 100,
      log: (line) => lines.push(line),
    });

    expect(result.published).toBe(2000);
    expect(result.consumed).toBe(2000);
    expect(result.publishSeconds).toBeGreaterThan(0);
    expect(result.consumeSeconds).toBeGreaterThan(0);
    expect(lines.some((line) => /^published 2000\b.* [\d,]+ msg\/s$/.test(line)), lines.join('\n')).toBe(true);
    expect(lines.some((line) => /^consumed 2000\b.* [\d,]+ msg\/s$/.test(line)), lines.join('\n')).toBe(true);
  });
});
