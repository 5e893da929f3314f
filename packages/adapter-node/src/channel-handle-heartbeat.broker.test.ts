/**
 * A consumer that hands long, CPU-bound handlers to `worker_threads` Workers keeps its connection
 * alive, because the connection's thread stays free to send heartbeats, and the Workers ack
 * through channel handles. Runs against RabbitMQ at AMQP_URL, by default
 * amqp://guest:guest@127.0.0.1:5672, and takes about 7 s.
 *
 * The Workers run channel-handle.worker.mjs, which imports the built package from ../dist, so
 * build first: `npm test` runs `pnpm turbo run build` before Vitest.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { type AmqpError, type Channel, type Connection, type Message, connect } from './index.js';

const BROKER_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';

const WORKER_SCRIPT = fileURLToPath(new URL('./channel-handle.worker.mjs', import.meta.url));
const BUILT_PACKAGE = fileURLToPath(new URL('../dist/index.js', import.meta.url));

const HEARTBEAT_SECONDS = 2;
/**
 * CPU time of each handler, three heartbeat intervals. On the connection's thread it would stop
 * the client's heartbeats for that long; the test checks that they keep flowing.
 */
const BURN_MS = 6000;
const MESSAGE_COUNT = 2;
const TEST_TIMEOUT_MS = 30_000;
/** Pause after which a requeue that RabbitMQ was still doing shows in the queue's count. RabbitMQ 3.10 took under 50 ms. */
const REQUEUE_PAUSE_MS = 300;

const connections: Connection[] = [];
const workers: Worker[] = [];

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.terminate()));
  await Promise.all(connections.splice(0).map((connection) => connection.close()));
});

/** Runs one `burnThenAck` command of channel-handle.worker.mjs in a new Worker with a handle of `channel`. */
function burnThenAck(channel: Channel, deliveryTag: number): Promise<{ ok: boolean; burnedMs: number; error?: unknown }> {
  const handle = channel.createHandle();
  const worker = new Worker(WORKER_SCRIPT, { workerData: { handle }, transferList: [handle] });
  workers.push(worker);
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (message: { ready?: boolean; ticket?: number }) => {
      if (message.ready === true) worker.postMessage({ ticket: 1, command: 'burnThenAck', deliveryTag, burnMs: BURN_MS });
      else if (message.ticket === 1) resolve(message as { ok: boolean; burnedMs: number });
    });
  });
}

describe('long handlers in workers', () => {
  it(
    'keep the connection alive and ack',
    async () => {
      if (!existsSync(BUILT_PACKAGE)) throw new Error(`${BUILT_PACKAGE} not found; run \`pnpm turbo run build\` first`);
      const heartbeatsSentAt: number[] = [];
      const connection = await connect({
        url: BROKER_URL,
        heartbeat: HEARTBEAT_SECONDS,
        frameTrace: (direction, _channel, description) => {
          if (direction === 'out' && description === 'heartbeat') heartbeatsSentAt.push(performance.now());
        },
      });
      connections.push(connection);
      const closeEvents: (AmqpError | undefined)[] = [];
      connection.on('close', (error) => closeEvents.push(error));

      const channel = await connection.channel();
      const { queue } = await channel.queueDeclare(`warren-test.channel-handle-heartbeat.${randomUUID()}`, { exclusive: true });
      for (let index = 0; index < MESSAGE_COUNT; index++) await channel.basicPublish('', queue, `job ${index}`);
      await channel.basicQos(MESSAGE_COUNT);

      const startedAt = performance.now();
      const handled: Promise<{ ok: boolean; burnedMs: number }>[] = [];
      let allDelivered!: () => void;
      const delivered = new Promise<void>((resolve) => (allDelivered = resolve));
      const consumer = await channel.basicConsume(queue, (message: Message) => {
        handled.push(burnThenAck(channel, message.deliveryTag));
        if (handled.length === MESSAGE_COUNT) allDelivered();
      });
      await delivered;
      const results = await Promise.all(handled);
      const finishedAt = performance.now();
      await channel.basicCancel(consumer.tag);
      // Closing the channel requeues whatever it left unacknowledged, so an empty queue afterwards
      // means that every ack reached the broker.
      await channel.close();
      const check = await connection.channel();
      await new Promise((resolve) => setTimeout(resolve, REQUEUE_PAUSE_MS));
      const { messageCount } = await check.queueDeclare(queue, { passive: true });

      expect(connection.tune.heartbeat).toBe(HEARTBEAT_SECONDS);
      expect(results).toHaveLength(MESSAGE_COUNT);
      for (const result of results) {
        expect(result.ok, JSON.stringify(result)).toBe(true);
        expect(result.burnedMs).toBeGreaterThanOrEqual(BURN_MS);
      }
      // The client sends a heartbeat after each interval without other frames, so the burn spans two or more.
      const duringBurn = heartbeatsSentAt.filter((at) => at > startedAt && at < finishedAt);
      expect(duringBurn.length).toBeGreaterThanOrEqual(2);
      expect(closeEvents).toEqual([]);
      expect(connection.isOpen).toBe(true);
      expect(messageCount).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );
});
