/**
 * Unit tests of `RpcClient` on a stand-in channel, for the paths that RabbitMQ cannot be made to
 * take on demand, such as a broker cancel of the direct reply-to consumer. rpc.broker.test.ts
 * covers the rest against a real broker.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AmqpError, type BasicProperties, type Channel, ChannelError, DIRECT_REPLY_TO, type Message, RpcClient } from './index.js';

interface Published {
  exchange: string;
  routingKey: string;
  properties: BasicProperties;
  mandatory: boolean | undefined;
}

/** Consumer stand-in with the members that `RpcClient` uses. */
class FakeConsumer extends EventEmitter {
  tag = 'reply-consumer';
  ended = false;
  cancelledByBroker = false;

  async cancel(): Promise<void> {
    this.ended = true;
  }
}

/** Channel stand-in that records publishes and hands out one reply consumer. */
class FakeChannel extends EventEmitter {
  id = 1;
  isOpen = true;
  published: Published[] = [];
  consumer = new FakeConsumer();
  onReply: ((message: Message) => void) | undefined;
  publishError: Error | undefined;

  async basicConsume(queue: string, onMessage: (message: Message) => void, options: { noAck?: boolean }): Promise<FakeConsumer> {
    expect(queue).toBe(DIRECT_REPLY_TO);
    expect(options.noAck).toBe(true);
    this.onReply = onMessage;
    return this.consumer;
  }

  basicPublish(exchange: string, routingKey: string, _body: unknown, properties: BasicProperties, options: { mandatory?: boolean }): Promise<void> {
    if (this.publishError !== undefined) throw this.publishError;
    this.published.push({ exchange, routingKey, properties, mandatory: options.mandatory });
    return Promise.resolve();
  }

  /** Delivers a reply with `correlationId` to the client's consumer. */
  reply(correlationId: string | undefined, body = 'reply'): void {
    const properties = correlationId === undefined ? {} : { correlationId };
    this.onReply!({ body: Buffer.from(body), properties, deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'generated' });
  }
}

async function createClient(options: { timeout?: number; mandatory?: boolean } = {}): Promise<{ channel: FakeChannel; client: RpcClient }> {
  const channel = new FakeChannel();
  const client = await RpcClient.create(channel as unknown as Channel, options);
  return { channel, client };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('RpcClient', () => {
  it('sets replyTo and correlationId', async () => {
    const { channel, client } = await createClient();
    const properties = { replyTo: 'caller-queue', correlationId: 'caller-id', messageId: 'm-1' } as BasicProperties;

    const call = client.call('rpc', 'method', 'body', { properties });
    const sent = channel.published[0]!;

    expect(sent.exchange).toBe('rpc');
    expect(sent.routingKey).toBe('method');
    expect(sent.mandatory).toBe(true);
    expect(sent.properties.replyTo).toBe(DIRECT_REPLY_TO);
    expect(sent.properties.correlationId).not.toBe('caller-id');
    expect(sent.properties.messageId).toBe('m-1');

    channel.reply(sent.properties.correlationId);
    expect((await call).body.toString()).toBe('reply');
  });

  it('ids are unique per call and per client', async () => {
    const { channel, client } = await createClient();
    const calls = [client.call('', 'q', 'a'), client.call('', 'q', 'b'), client.call('', 'q', 'c')];
    const ids = channel.published.map((sent) => sent.properties.correlationId!);
    expect(new Set(ids).size).toBe(3);
    await client.close();
    await Promise.allSettled(calls);

    // A later client on the same channel shares no id with the earlier one, so a late reply to
    // the earlier client matches none of its calls.
    const later = await RpcClient.create(channel as unknown as Channel);
    const call = later.call('', 'q', 'd');
    const laterId = channel.published[3]!.properties.correlationId!;
    expect(ids).not.toContain(laterId);
    for (const id of ids) channel.reply(id, 'late');
    expect(later.unmatchedReplies).toBe(3);
    expect(later.pendingCount).toBe(1);

    channel.reply(laterId, 'answer');
    expect((await call).body.toString()).toBe('answer');
  });

  it('timeout fires at the deadline', async () => {
    vi.useFakeTimers();
    const { channel, client } = await createClient({ timeout: 1000 });
    let outcome: unknown;
    void client.call('', 'q', 'body').catch((error: unknown) => {
      outcome = error;
    });

    await vi.advanceTimersByTimeAsync(999);
    expect(outcome).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);

    expect((outcome as AmqpError).code).toBe('RPC_TIMEOUT');
    expect(client.pendingCount).toBe(0);
    channel.reply(channel.published[0]!.properties.correlationId);
    expect(client.unmatchedReplies).toBe(1);
  });

  it('calls share one timer', async () => {
    vi.useFakeTimers();
    const { channel, client } = await createClient({ timeout: 1000 });
    const outcomes: string[] = [];
    const track = (name: string, call: Promise<unknown>) =>
      void call.then(
        () => outcomes.push(`${name} replied`),
        (error: AmqpError) => outcomes.push(`${name} ${error.code}`),
      );
    track('first', client.call('', 'q', 'a'));
    await vi.advanceTimersByTimeAsync(300);
    track('second', client.call('', 'q', 'b'));
    track('short', client.call('', 'q', 'c', { timeout: 100 }));
    expect(vi.getTimerCount()).toBe(1);

    await vi.advanceTimersByTimeAsync(100);
    expect(outcomes).toEqual(['short RPC_TIMEOUT']);
    channel.reply(channel.published[0]!.properties.correlationId);
    await vi.advanceTimersByTimeAsync(899);
    expect(outcomes).toEqual(['short RPC_TIMEOUT', 'first replied']);
    await vi.advanceTimersByTimeAsync(1);
    expect(outcomes).toEqual(['short RPC_TIMEOUT', 'first replied', 'second RPC_TIMEOUT']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('calls with one timeout expire in turn', async () => {
    vi.useFakeTimers();
    const { client } = await createClient({ timeout: 1000 });
    const expired: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      void client.call('', 'q', name).catch(() => expired.push(name));
      await vi.advanceTimersByTimeAsync(100);
    }

    await vi.advanceTimersByTimeAsync(700);
    expect(expired).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(100);
    expect(expired).toEqual(['a', 'b']);
    await vi.advanceTimersByTimeAsync(100);
    expect(expired).toEqual(['a', 'b', 'c']);
    expect(client.pendingCount).toBe(0);
  });

  it('idle timer does not keep the process alive', async () => {
    const { channel, client } = await createClient({ timeout: 60_000 });
    const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const before = timers();
    const call = client.call('', 'q', 'a');
    const during = timers();
    channel.reply(channel.published[0]!.properties.correlationId);
    await call;

    expect(during).toBe(before + 1);
    expect(timers()).toBe(before);
  });

  it('timeout 0 never fires', async () => {
    vi.useFakeTimers();
    const { channel, client } = await createClient({ timeout: 0 });
    const call = client.call('', 'q', 'body');

    await vi.advanceTimersByTimeAsync(24 * 60 * 60 * 1000);
    expect(client.pendingCount).toBe(1);

    channel.reply(channel.published[0]!.properties.correlationId);
    expect((await call).body.toString()).toBe('reply');
  });

  it('publish error rejects the call', async () => {
    const { channel, client } = await createClient();
    const closed = new ChannelError('channel 1 is closed', { code: 'CHANNEL_CLOSED', source: 'client' });
    channel.publishError = closed;

    await expect(client.call('', 'q', 'body')).rejects.toBe(closed);
    expect(client.pendingCount).toBe(0);
  });

  it('publish rejection rejects the call', async () => {
    const { channel, client } = await createClient();
    const nack = new ChannelError('the broker nacked the message', { code: 'MESSAGE_NACKED', source: 'broker' });
    let rejectPublish!: (error: unknown) => void;
    channel.basicPublish = (...args: Parameters<FakeChannel['basicPublish']>) => {
      void FakeChannel.prototype.basicPublish.apply(channel, args);
      return new Promise<void>((_, reject) => {
        rejectPublish = reject;
      });
    };

    const call = client.call('', 'q', 'body');
    rejectPublish(nack);

    await expect(call).rejects.toBe(nack);
    expect(client.pendingCount).toBe(0);
  });

  it('broker cancel rejects pending calls', async () => {
    const { channel, client } = await createClient();
    const calls = [client.call('', 'q', 'a'), client.call('', 'q', 'b')];
    const settled = Promise.allSettled(calls);

    channel.consumer.cancelledByBroker = true;
    channel.consumer.ended = true;
    channel.consumer.emit('cancel');
    const results = await settled;

    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect(((result as PromiseRejectedResult).reason as AmqpError).code).toBe('RPC_REPLY_CONSUMER_CANCELLED');
    }
    expect(client.isOpen).toBe(false);
    await expect(client.call('', 'q', 'c')).rejects.toMatchObject({ code: 'RPC_REPLY_CONSUMER_CANCELLED' });
    expect(channel.published).toHaveLength(2);
    expect(channel.listenerCount('close')).toBe(0);
    expect(channel.listenerCount('return')).toBe(0);
  });

  it('return rejects only the matching call', async () => {
    const { channel, client } = await createClient();
    const first = client.call('', 'missing', 'a');
    const second = client.call('', 'q', 'b');
    const [firstSent, secondSent] = channel.published;

    channel.emit('return', { body: Buffer.from('x'), properties: { correlationId: 'someone-else' }, replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: 'other' });
    channel.emit('return', { body: Buffer.from('a'), properties: firstSent!.properties, replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: 'missing' });

    await expect(first).rejects.toMatchObject({ code: 'RPC_UNROUTABLE', replyCode: 312, source: 'broker', retryable: true });
    expect(client.pendingCount).toBe(1);
    channel.reply(secondSent!.properties.correlationId);
    expect((await second).body.toString()).toBe('reply');
  });

  it('mandatory false is passed on', async () => {
    const { channel, client } = await createClient({ mandatory: false });
    const calls = [client.call('', 'q', 'a', { timeout: 0 }), client.call('', 'q', 'b', { timeout: 0, mandatory: true })];
    const settled = Promise.allSettled(calls);

    expect(channel.published.map((sent) => sent.mandatory)).toEqual([false, true]);
    await client.close();
    expect((await settled).map((result) => result.status)).toEqual(['rejected', 'rejected']);
  });
});
