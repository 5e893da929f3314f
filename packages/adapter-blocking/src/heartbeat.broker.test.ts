/**
 * A consumer whose handler blocks its thread for several heartbeat timeouts, against RabbitMQ
 * at AMQP_URL (by default amqp://guest:guest@127.0.0.1:5672). Warren's blocking adapter keeps
 * its connection, because the I/O thread keeps sending heartbeats. Pika's `BlockingConnection`
 * (Debian's python3-pika) runs the same scenario in a child process and loses its connection.
 *
 * With a 2 s heartbeat, RabbitMQ 3.10 closed Pika's connection when the handler blocked for 9 s
 * or more, and sometimes kept it at 6 s, so the handler blocks for 10 s.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockingConnection } from '@warren/adapter-blocking';

const BROKER_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
const HEARTBEAT_SECONDS = 2;
const BLOCK_SECONDS = 10;
const PYTHON = process.env.PYTHON_WITH_PIKA || '/usr/bin/python3';
const PIKA_SCRIPT = fileURLToPath(new URL('./pika-long-handler.py', import.meta.url));

interface PikaResult {
  lost: boolean;
  error: string | null;
  negotiatedHeartbeat: number;
}

function pikaInstalled(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import pika'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Blocks this thread without servicing anything, as CPU-bound work or a synchronous call would. */
function blockThread(seconds: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
}

/** Pika's URL form needs the default vhost spelled out. */
function pikaUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.pathname === '' || parsed.pathname === '/') parsed.pathname = '/%2F';
  return parsed.toString();
}

const hasPika = pikaInstalled();
let setupConnection: BlockingConnection;
let pikaQueue: string;
let pikaChild: ChildProcess | undefined;
let pikaResult: Promise<PikaResult>;

beforeAll(() => {
  setupConnection = new BlockingConnection(BROKER_URL);
  if (!hasPika) return;

  // Pika runs in its own process at the same time as the Warren test, so the file takes the
  // blocking time once.
  const channel = setupConnection.channel();
  pikaQueue = channel.queueDeclare(`warren-pika-heartbeat-${randomUUID()}`).queue;
  channel.basicPublish('', pikaQueue, 'for pika');
  channel.queueDeclare(pikaQueue, { passive: true });
  const child = spawn(PYTHON, [PIKA_SCRIPT, pikaUrl(BROKER_URL), pikaQueue, String(HEARTBEAT_SECONDS), String(BLOCK_SECONDS)]);
  pikaChild = child;
  pikaResult = new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`pika-long-handler.py exited with ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout) as PikaResult);
    });
  });
});

afterAll(() => {
  pikaChild?.kill();
  if (pikaQueue !== undefined) setupConnection.channel().queueDelete(pikaQueue);
  setupConnection.close();
});

describe('long handler', () => {
  it(`keeps the blocking connection through a ${BLOCK_SECONDS} s handler`, { timeout: 60_000 }, () => {
    const connection = new BlockingConnection({ url: BROKER_URL, heartbeat: HEARTBEAT_SECONDS });
    try {
      expect(connection.tune.heartbeat).toBe(HEARTBEAT_SECONDS);
      const channel = connection.channel();
      const queue = channel.queueDeclare(`warren-heartbeat-${randomUUID()}`, { exclusive: true }).queue;
      channel.basicPublish('', queue, 'long work');

      let handled = 0;
      channel.basicConsume(queue, (message, from) => {
        blockThread(BLOCK_SECONDS);
        from.basicAck(message.deliveryTag);
        handled++;
        from.stopConsuming();
      });
      const start = performance.now();
      channel.startConsuming();
      expect(performance.now() - start).toBeGreaterThanOrEqual(BLOCK_SECONDS * 1000);

      expect(handled).toBe(1);
      expect(connection.isOpen).toBe(true);
      // Closing the channel would requeue an unacknowledged message, so an empty queue after
      // the close shows that the ack reached the broker.
      channel.close();
      const check = connection.channel();
      expect(check.queueDeclare(queue, { passive: true }).messageCount).toBe(0);
    } finally {
      connection.close();
    }
  });

  it.skipIf(!hasPika)("loses Pika's BlockingConnection in the same scenario", { timeout: 60_000 }, async () => {
    const result = await pikaResult;
    expect(result.negotiatedHeartbeat).toBe(HEARTBEAT_SECONDS);
    expect(result.lost).toBe(true);
    expect(result.error).toMatch(/StreamLostError|ConnectionClosed|AMQPConnectionError/);
  });
});
