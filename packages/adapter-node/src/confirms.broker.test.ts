/**
 * Publisher confirms, transactions, recover and flow against RabbitMQ at AMQP_URL, by default
 * amqp://guest:guest@127.0.0.1:5672. Queues get random names and are deleted after each test.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Channel, type Connection, NackError, type ReturnedMessage, UnroutableError, connect, typed } from './index.js';

const BROKER_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';

const connections: Connection[] = [];
const queues: string[] = [];
const processFailures: unknown[] = [];
const recordFailure = (error: unknown): void => {
  processFailures.push(error);
};

beforeAll(() => {
  process.on('unhandledRejection', recordFailure);
  process.on('uncaughtException', recordFailure);
});

afterAll(() => {
  process.off('unhandledRejection', recordFailure);
  process.off('uncaughtException', recordFailure);
  expect(processFailures).toEqual([]);
});

afterEach(async () => {
  const cleanup = await connect(BROKER_URL);
  const channel = await cleanup.channel();
  for (const queue of queues.splice(0)) await channel.queueDelete(queue);
  await cleanup.close();
  await Promise.all(connections.splice(0).map((connection) => connection.close()));
});

async function openChannel(): Promise<Channel> {
  const connection = await connect(BROKER_URL);
  connections.push(connection);
  return connection.channel();
}

async function declareQueue(channel: Channel, args = {}): Promise<string> {
  const queue = `warren-test.confirms.${randomUUID()}`;
  queues.push(queue);
  await channel.queueDeclare(queue, { arguments: args });
  return queue;
}

describe('publisher confirms', () => {
  it('pipelined publishes all confirm', async () => {
    const channel = await openChannel();
    const queue = await declareQueue(channel);
    await channel.confirmSelect();

    const confirms = Array.from({ length: 2000 }, (_, index) => channel.basicPublish('', queue, `message ${index}`));
    await expect(Promise.all(confirms)).resolves.toHaveLength(2000);
    await expect(channel.waitForConfirms()).resolves.toBeUndefined();
    expect((await channel.queueDeclare(queue, { passive: true })).messageCount).toBe(2000);
  });

  it('unroutable mandatory publish rejects after return', async () => {
    const channel = await openChannel();
    await channel.confirmSelect();
    const events: string[] = [];
    channel.on('return', (message: ReturnedMessage) => events.push(`return ${message.replyCode} ${message.body.toString()}`));

    const unroutable = channel.basicPublish('', `warren-test.nowhere.${randomUUID()}`, 'lost', {}, { mandatory: true });
    const error = await unroutable.catch((caught: unknown) => caught);
    events.push('rejected');

    expect(error).toBeInstanceOf(UnroutableError);
    expect((error as UnroutableError).code).toBe('MESSAGE_UNROUTABLE');
    expect((error as UnroutableError).replyCode).toBe(312);
    expect((error as UnroutableError).replyText).toBe('NO_ROUTE');
    expect(events).toEqual(['return 312 lost', 'rejected']);
  });

  it('returned message does not fail its neighbours', async () => {
    const channel = await openChannel();
    const queue = await declareQueue(channel);
    await channel.confirmSelect();
    const nowhere = `warren-test.nowhere.${randomUUID()}`;

    const results = await Promise.allSettled([
      channel.basicPublish('', queue, 'first', {}, { mandatory: true }),
      channel.basicPublish('', nowhere, 'lost', {}, { mandatory: true }),
      channel.basicPublish('', queue, 'third', {}, { mandatory: true }),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('reject-publish overflow nacks extra messages', async () => {
    const channel = await openChannel();
    const queue = await declareQueue(channel, { 'x-max-length': 1, 'x-overflow': 'reject-publish' });
    await channel.confirmSelect();

    const publishes = [
      channel.basicPublish('', queue, 'kept'),
      channel.basicPublish('', queue, 'second'),
      channel.basicPublish('', queue, 'third'),
    ];
    // Called while the three are outstanding, so it covers them.
    const waited = channel.waitForConfirms();
    const results = await Promise.allSettled(publishes);
    expect(results[0]!.status).toBe('fulfilled');
    for (const result of results.slice(1)) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(NackError);
      expect((result as PromiseRejectedResult).reason.code).toBe('MESSAGE_NACKED');
    }
    await expect(waited).rejects.toBeInstanceOf(NackError);
    // Nothing is outstanding any more, so a new wait resolves.
    await expect(channel.waitForConfirms()).resolves.toBeUndefined();
  });

  it('waitForConfirms needs confirm mode', async () => {
    const channel = await openChannel();
    await expect(channel.waitForConfirms()).rejects.toMatchObject({ code: 'CONFIRM_MODE_REQUIRED' });
  });

  it('channel close rejects unconfirmed publishes', async () => {
    const channel = await openChannel();
    const queue = await declareQueue(channel);
    await channel.confirmSelect();
    const publishes = Array.from({ length: 50 }, () => channel.basicPublish('', queue, 'x'));
    const closing = channel.close();
    const results = await Promise.allSettled(publishes);
    await closing;
    // Each publish settles once: confirmed before the close, or rejected by it.
    expect(results).toHaveLength(50);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason.code).toBe('CHANNEL_CLOSED');
    }
  });
});

describe('transactions', () => {
  it('rollback discards and commit keeps', async () => {
    const channel = await openChannel();
    const queue = await declareQueue(channel);
    await channel.txSelect();

    await channel.basicPublish('', queue, 'discarded');
    await channel.txRollback();
    expect((await channel.queueDeclare(queue, { passive: true })).messageCount).toBe(0);

    await channel.basicPublish('', queue, 'kept');
    await channel.txCommit();
    expect((await channel.queueDeclare(queue, { passive: true })).messageCount).toBe(1);
  });
});

describe('recover', () => {
  it('basicRecover redelivers unacked messages', async () => {
    const channel = await openChannel();
    const queue = await declareQueue(channel);
    await channel.basicPublish('', queue, 'again');
    const first = await channel.basicGet(queue);
    expect(first?.redelivered).toBe(false);

    await channel.basicRecover(true);
    const second = await channel.basicGet(queue);
    expect(second?.body.toString()).toBe('again');
    expect(second?.redelivered).toBe(true);
  });
});

describe('flow', () => {
  it('client flow true is confirmed', async () => {
    const channel = await openChannel();
    await expect(channel.flow(true)).resolves.toBe(true);
    expect(channel.flowActive).toBe(true);
  });
});

describe('nowait', () => {
  it('declare and bind without waiting', async () => {
    const channel = await openChannel();
    const queue = `warren-test.nowait.${randomUUID()}`;
    queues.push(queue);
    await channel.queueDeclare(queue, { noWait: true, arguments: { 'x-max-length': typed('s', 5) } });
    await channel.queueBind(queue, 'amq.direct', queue, {}, { noWait: true });
    await channel.basicPublish('amq.direct', queue, 'routed');
    const message = await channel.basicGet(queue, { noAck: true });
    expect(message?.body.toString()).toBe('routed');
    await channel.basicPublish('amq.direct', queue, 'purged');
    expect(await channel.queuePurge(queue, { noWait: true })).toBe(0);
    expect(await channel.basicGet(queue, { noAck: true })).toBeNull();
  });
});
