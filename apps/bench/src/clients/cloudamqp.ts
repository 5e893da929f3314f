/** @cloudamqp/amqp-client, through its low-level `AMQPClient` API over TCP. */
import { randomUUID } from 'node:crypto';
import { type AMQPBaseClient, type AMQPChannel, AMQPClient, type Field } from '@cloudamqp/amqp-client';
import { deferred } from '../deferred.js';
import type { HeaderSet, HeaderValue } from '../headers.js';
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
  return `@cloudamqp/amqp-client ${packageVersion('@cloudamqp/amqp-client')}`;
}

/**
 * Opens a connection with the frame_max that the other clients use by default (the client's own
 * default is 8192), and turns off Nagle's algorithm, which the client leaves on, as Warren does.
 */
async function open(url: string): Promise<AMQPBaseClient> {
  const withFrameMax = new URL(url);
  withFrameMax.searchParams.set('frameMax', '131072');
  const client = new AMQPClient(withFrameMax.toString());
  const connection = await client.connect();
  client.socket?.setNoDelay(true);
  return connection;
}

export async function connect(url: string): Promise<BenchClient> {
  const connection = await open(url);
  const channel = await connection.channel();
  return new CloudamqpClient(connection, channel);
}

class CloudamqpClient implements BenchClient {
  readonly #connection: AMQPBaseClient;
  readonly #channel: AMQPChannel;

  constructor(connection: AMQPBaseClient, channel: AMQPChannel) {
    this.#connection = connection;
    this.#channel = channel;
  }

  async messageCount(queue: string): Promise<number> {
    const { messageCount } = await this.#channel.queueDeclare(queue, { passive: true });
    return messageCount;
  }

  async publish(queue: string, body: Buffer, count: number, headers?: HeaderSet): Promise<void> {
    const properties = headers === undefined ? {} : { headers: toCloudamqpHeaders(headers) };
    for (let index = 0; index < count; index++) {
      // The promise resolves once the frames are handed to the socket.
      await this.#channel.basicPublish('', queue, body, properties);
    }
  }

  async openConfirmPublisher(): Promise<ConfirmPublisher> {
    const channel = await this.#connection.channel();
    await channel.confirmSelect();
    return {
      publish: async (queue, body) => {
        await channel.basicPublish('', queue, body);
      },
      close: () => channel.close(),
    };
  }

  async consume(queue: string, count: number, prefetch: number): Promise<ConsumeSummary> {
    const channel = await this.#connection.channel();
    await channel.basicQos(prefetch);

    const summary: ConsumeSummary = { received: 0, firstHeaderCount: 0 };
    const done = deferred();
    const consumer = await channel.basicConsume(queue, { noAck: false }, (message) => {
      if (summary.received === 0) summary.firstHeaderCount = Object.keys(message.properties.headers ?? {}).length;
      message.ack().catch(done.reject);
      summary.received++;
      if (summary.received === count) done.resolve();
    });
    consumer.wait().catch(done.reject);
    await done.promise;

    await consumer.cancel();
    await channel.close();
    return summary;
  }

  async get(queue: string): Promise<number> {
    const message = await this.#channel.basicGet(queue, { noAck: false });
    if (message === null) throw new Error(`basic.get found queue ${queue} empty`);

    await message.ack();
    return message.bodySize;
  }

  async serveRpc(url: string, queue: string): Promise<() => Promise<void>> {
    const connection = await open(url);
    const channel = await connection.channel();
    await channel.basicQos(RPC_SERVER_PREFETCH);
    const consumer = await channel.basicConsume(queue, { noAck: false }, (request) => {
      const { replyTo, correlationId } = request.properties;
      if (replyTo === undefined) return;
      void channel.basicPublish('', replyTo, request.body, { correlationId });
      void request.ack();
    });
    return async () => {
      await consumer.cancel();
      await connection.close();
    };
  }

  async openRpcCaller(): Promise<RpcCaller> {
    const channel = await this.#connection.channel();
    const pending = new Map<string, () => void>();
    await channel.basicConsume(DIRECT_REPLY_TO, { noAck: true }, (reply) => {
      const correlationId = reply.properties.correlationId;
      const resolve = correlationId === undefined ? undefined : pending.get(correlationId);
      if (resolve === undefined) return;
      pending.delete(correlationId!);
      resolve();
    });

    return {
      call: (queue, body) =>
        new Promise<void>((resolve, reject) => {
          const correlationId = randomUUID();
          pending.set(correlationId, resolve);
          channel.basicPublish('', queue, body, { replyTo: DIRECT_REPLY_TO, correlationId }).catch(reject);
        }),
      close: () => channel.close(),
    };
  }

  async close(): Promise<void> {
    await this.#connection.close();
  }
}

function toCloudamqpHeaders(headers: HeaderSet): Record<string, Field> {
  const table: Record<string, Field> = {};
  for (const [name, header] of Object.entries(headers)) table[name] = toCloudamqpValue(header);
  return table;
}

/** Converts one header. The client infers every type of the set from the JavaScript value, including bigint and Date. */
function toCloudamqpValue(header: HeaderValue): Field {
  switch (header.type) {
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
