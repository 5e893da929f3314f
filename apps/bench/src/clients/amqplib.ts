/** amqplib, through its promise API. */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import amqplib, { type Channel, type ChannelModel } from 'amqplib';
import { deferred } from '../deferred.js';
import { type HeaderSet, type HeaderValue, toEpochSeconds } from '../headers.js';
import { packageVersion } from '../package-version.js';
import {
  type BenchClient,
  type ConfirmPublisher,
  type ConsumeSummary,
  DIRECT_REPLY_TO,
  RPC_SERVER_PREFETCH,
  type RpcCaller,
} from './client.js';

export function describe(): string {
  return `amqplib ${packageVersion('amqplib')}`;
}

/** amqplib leaves Nagle's algorithm on unless `noDelay` is set; Warren always sets it. */
const SOCKET_OPTIONS = { noDelay: true };

export async function connect(url: string): Promise<BenchClient> {
  const connection = await amqplib.connect(url, SOCKET_OPTIONS);
  const channel = await connection.createChannel();
  return new AmqplibClient(connection, channel);
}

class AmqplibClient implements BenchClient {
  readonly #connection: ChannelModel;
  readonly #channel: Channel;

  constructor(connection: ChannelModel, channel: Channel) {
    this.#connection = connection;
    this.#channel = channel;
  }

  async messageCount(queue: string): Promise<number> {
    const { messageCount } = await this.#channel.checkQueue(queue);
    return messageCount;
  }

  async publish(queue: string, body: Buffer, count: number, headers?: HeaderSet): Promise<void> {
    const options = headers === undefined ? {} : { headers: toAmqplibHeaders(headers) };
    for (let index = 0; index < count; index++) {
      // publish() returns false when the channel's buffer is full; 'drain' follows once it empties.
      if (!this.#channel.publish('', queue, body, options)) await once(this.#channel, 'drain');
    }
  }

  async openConfirmPublisher(): Promise<ConfirmPublisher> {
    const channel = await this.#connection.createConfirmChannel();
    return {
      // The caller bounds the unconfirmed messages, and so the buffered bytes, so this ignores
      // the boolean that publish() returns.
      publish: (queue, body) =>
        new Promise<void>((resolve, reject) => {
          channel.publish('', queue, body, {}, (error) => (error ? reject(error) : resolve()));
        }),
      close: () => channel.close(),
    };
  }

  async consume(queue: string, count: number, prefetch: number): Promise<ConsumeSummary> {
    const channel = await this.#connection.createChannel();
    await channel.prefetch(prefetch);

    const summary: ConsumeSummary = { received: 0, firstHeaderCount: 0 };
    const done = deferred();
    channel.once('close', () => done.reject(new Error(`channel closed after ${summary.received} of ${count} messages`)));

    const { consumerTag } = await channel.consume(queue, (message) => {
      if (message === null) {
        done.reject(new Error(`the broker cancelled the consumer after ${summary.received} of ${count} messages`));
        return;
      }
      if (summary.received === 0) summary.firstHeaderCount = Object.keys(message.properties.headers ?? {}).length;
      channel.ack(message);
      summary.received++;
      if (summary.received === count) done.resolve();
    });
    await done.promise;

    await channel.cancel(consumerTag);
    await channel.close();
    return summary;
  }

  async get(queue: string): Promise<number> {
    const message = await this.#channel.get(queue);
    if (message === false) throw new Error(`basic.get found queue ${queue} empty`);

    this.#channel.ack(message);
    return message.content.length;
  }

  async serveRpc(url: string, queue: string): Promise<() => Promise<void>> {
    const connection = await amqplib.connect(url, SOCKET_OPTIONS);
    const channel = await connection.createChannel();
    await channel.prefetch(RPC_SERVER_PREFETCH);
    const { consumerTag } = await channel.consume(queue, (request) => {
      if (request === null) return;
      const { replyTo, correlationId } = request.properties;
      channel.publish('', replyTo, request.content, { correlationId });
      channel.ack(request);
    });
    return async () => {
      await channel.cancel(consumerTag);
      await connection.close();
    };
  }

  async openRpcCaller(): Promise<RpcCaller> {
    const channel = await this.#connection.createChannel();
    const pending = new Map<string, () => void>();
    await channel.consume(
      DIRECT_REPLY_TO,
      (reply) => {
        const correlationId = reply?.properties.correlationId;
        const resolve = pending.get(correlationId);
        if (resolve === undefined) return;
        pending.delete(correlationId);
        resolve();
      },
      { noAck: true },
    );

    return {
      call: (queue, body) =>
        new Promise<void>((resolve) => {
          const correlationId = randomUUID();
          pending.set(correlationId, resolve);
          channel.publish('', queue, body, { replyTo: DIRECT_REPLY_TO, correlationId });
        }),
      close: () => channel.close(),
    };
  }

  async close(): Promise<void> {
    await this.#connection.close();
  }
}

export function toAmqplibHeaders(headers: HeaderSet): Record<string, unknown> {
  const table: Record<string, unknown> = {};
  for (const [name, header] of Object.entries(headers)) table[name] = toAmqplibValue(header);
  return table;
}

/** Converts one header. amqplib takes an explicit type as `{ '!': type, value }`, which bigint and timestamp need. */
function toAmqplibValue(header: HeaderValue): unknown {
  switch (header.type) {
    case 'int64':
      return { '!': 'int64', value: header.value };
    case 'timestamp':
      return { '!': 'timestamp', value: toEpochSeconds(header.value) };
    case 'void':
      return null;
    case 'table':
      return { ...header.value };
    case 'array':
      return [...header.value];
    default:
      return header.value;
  }
}
