/**
 * Channel handles of the blocking adapter against RabbitMQ at AMQP_URL, by default
 * amqp://guest:guest@127.0.0.1:5672: a Worker acks through `BlockingChannel.createHandle()`,
 * and gets an error naming the channel and the delivery tag once the channel has closed. The
 * Worker imports the built package, so build first (`npm test` does).
 */
import { randomUUID } from 'node:crypto';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { type BlockingChannel, BlockingConnection } from '@warren/adapter-blocking';

const BROKER_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
const PACKAGE_URL = new URL('../dist/index.js', import.meta.url).href;

/** A Worker that acks each delivery tag it is sent and reports the outcome on `results`. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.packageUrl).then(({ ChannelHandle }) => {
  const handle = new ChannelHandle(workerData.handle);
  parentPort.on('message', (deliveryTag) => {
    handle.basicAck(deliveryTag).then(
      () => workerData.results.postMessage({ deliveryTag, ok: true }),
      (error) => workerData.results.postMessage({ deliveryTag, ok: false, name: error.name, code: error.code, message: error.message }),
    );
  });
  workerData.results.postMessage({ ready: true, channelId: handle.channelId });
});
`;

interface Outcome {
  ready?: boolean;
  channelId?: number;
  deliveryTag?: number;
  ok?: boolean;
  name?: string;
  code?: string;
  message?: string;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function startWorker(channel: BlockingChannel): { worker: Worker; results: MessagePort } {
  const handle = channel.createHandle();
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { handle, results: port2, packageUrl: PACKAGE_URL },
    transferList: [handle, port2],
  });
  cleanups.push(() => {
    port1.close();
    void worker.terminate();
  });
  return { worker, results: port1 };
}

/** Services the connection until the Worker reports, since this thread cannot take events while it waits. */
function nextOutcome(connection: BlockingConnection, results: MessagePort): Outcome {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const entry = receiveMessageOnPort(results);
    if (entry !== undefined) return entry.message as Outcome;
    if (performance.now() > deadline) throw new Error('the Worker did not report within 10 s');
    connection.sleep(0.01);
  }
}

describe('BlockingChannel.createHandle', () => {
  it('lets a Worker ack deliveries', () => {
    const connection = new BlockingConnection(BROKER_URL);
    cleanups.push(() => connection.close());
    const channel = connection.channel();
    const queue = channel.queueDeclare(`warren-handle-${randomUUID()}`, { exclusive: true }).queue;
    for (let index = 0; index < 3; index++) channel.basicPublish('', queue, `message ${index}`);
    const { worker, results } = startWorker(channel);
    expect(nextOutcome(connection, results)).toEqual({ ready: true, channelId: channel.channelNumber });

    for (let index = 0; index < 3; index++) {
      const message = channel.basicGet(queue)!;
      worker.postMessage(message.deliveryTag);
      expect(nextOutcome(connection, results)).toEqual({ deliveryTag: message.deliveryTag, ok: true });
    }
    // Closing the channel requeues unacknowledged messages, so an empty queue shows the acks arrived.
    channel.close();
    const check = connection.channel();
    connection.sleep(0.3);
    expect(check.queueDeclare(queue, { passive: true }).messageCount).toBe(0);
  });

  it('reports an ack after the channel closed to the Worker', () => {
    const connection = new BlockingConnection(BROKER_URL);
    cleanups.push(() => connection.close());
    const channel = connection.channel();
    const queue = channel.queueDeclare(`warren-handle-${randomUUID()}`, { exclusive: true }).queue;
    channel.basicPublish('', queue, 'late ack');
    const message = channel.basicGet(queue)!;
    const { worker, results } = startWorker(channel);
    expect(nextOutcome(connection, results).ready).toBe(true);

    channel.close();
    worker.postMessage(message.deliveryTag);
    const outcome = nextOutcome(connection, results);

    expect(outcome.ok).toBe(false);
    expect(outcome.name).toBe('ChannelClosedByClientError');
    expect(outcome.code).toBe('CHANNEL_CLOSED');
    expect(outcome.message).toContain(`delivery tag ${message.deliveryTag}`);
    expect(outcome.message).toContain(`channel ${channel.channelNumber}`);
    // The connection's own thread threw nothing and keeps working.
    expect(connection.isOpen).toBe(true);
    const other = connection.channel();
    expect(other.queueDeclare(queue, { passive: true }).messageCount).toBe(1);
  });
});
