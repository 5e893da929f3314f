/** Warren, through @warren/adapter-node. */
import {
  type Channel,
  type Connection,
  type FieldTable,
  type FieldValue,
  RpcClient,
  connect as connectWarren,
  serveRpc,
} from '@warren/adapter-node';
import { deferred } from '../deferred.js';
import type { HeaderSet, HeaderValue } from '../headers.js';
import { packageVersion } from '../package-version.js';
import { type BenchClient, type ConfirmPublisher, type ConsumeSummary, RPC_SERVER_PREFETCH, type RpcCaller } from './client.js';

export function describe(): string {
  return `@warren/adapter-node ${packageVersion('@warren/adapter-node')}`;
}

export async function connect(url: string): Promise<BenchClient> {
  const connection = await connectWarren({ url, connectionName: 'warren-bench' });
  const channel = await connection.channel();
  return new WarrenClient(connection, channel);
}

class WarrenClient implements BenchClient {
  readonly #connection: Connection;
  readonly #channel: Channel;

  constructor(connection: Connection, channel: Channel) {
    this.#connection = connection;
    this.#channel = channel;
  }

  async messageCount(queue: string): Promise<number> {
    const { messageCount } = await this.#channel.queueDeclare(queue, { passive: true });
    return messageCount;
  }

  async publish(queue: string, body: Buffer, count: number, headers?: HeaderSet): Promise<void> {
    const properties = headers === undefined ? {} : { headers: toWarrenHeaders(headers) };
    for (let index = 0; index < count; index++) {
      // The promise resolves at once unless the socket buffer is above its high-water mark.
      await this.#channel.basicPublish('', queue, body, properties);
    }
  }

  async openConfirmPublisher(): Promise<ConfirmPublisher> {
    const channel = await this.#connection.channel();
    await channel.confirmSelect();
    return {
      publish: (queue, body) => channel.basicPublish('', queue, body),
      close: () => channel.close(),
    };
  }

  async consume(queue: string, count: number, prefetch: number): Promise<ConsumeSummary> {
    const channel = await this.#connection.channel();
    await channel.basicQos(prefetch);

    const summary: ConsumeSummary = { received: 0, firstHeaderCount: 0 };
    const done = deferred();
    channel.once('close', (error) => done.reject(error ?? new Error(`channel closed after ${summary.received} of ${count} messages`)));

    const consumer = await channel.basicConsume(queue, (message) => {
      if (summary.received === 0) summary.firstHeaderCount = Object.keys(message.properties.headers ?? {}).length;
      channel.basicAck(message.deliveryTag);
      summary.received++;
      if (summary.received === count) done.resolve();
    });
    await done.promise;

    await consumer.cancel();
    await channel.close();
    return summary;
  }

  async get(queue: string): Promise<number> {
    const message = await this.#channel.basicGet(queue);
    if (message === null) throw new Error(`basic.get found queue ${queue} empty`);

    this.#channel.basicAck(message.deliveryTag);
    return message.body.length;
  }

  async serveRpc(url: string, queue: string): Promise<() => Promise<void>> {
    const connection = await connectWarren({ url, connectionName: 'warren-bench-rpc-server' });
    const channel = await connection.channel();
    const server = await serveRpc(channel, queue, (request) => request.body, { prefetchCount: RPC_SERVER_PREFETCH });
    return async () => {
      await server.close();
      await connection.close();
    };
  }

  async openRpcCaller(): Promise<RpcCaller> {
    const channel = await this.#connection.channel();
    const client = await RpcClient.create(channel);
    return {
      call: async (queue, body) => {
        await client.call('', queue, body);
      },
      close: async () => {
        await client.close();
        await channel.close();
      },
    };
  }

  async close(): Promise<void> {
    await this.#connection.close();
  }
}

export function toWarrenHeaders(headers: HeaderSet): FieldTable {
  const table: FieldTable = {};
  for (const [name, header] of Object.entries(headers)) table[name] = toWarrenValue(header);
  return table;
}

/** Converts one header. Warren infers every type of the set from the JavaScript value, so no `typed()` hint is needed. */
function toWarrenValue(header: HeaderValue): FieldValue {
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
