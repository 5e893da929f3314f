/** rabbitmq-client, through raw channels from `Connection.acquire()`. */
import { randomUUID } from 'node:crypto';
import { type Channel, Connection } from 'rabbitmq-client';
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
  return `rabbitmq-client ${packageVersion('rabbitmq-client')}`;
}

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Opens a connection with the frame_max that Warren and amqplib use by default (the client's own
 * default is 8192) and with Nagle's algorithm off, as Warren does.
 */
async function open(url: string): Promise<Connection> {
  const connection = new Connection({ url, frameMax: 131072, noDelay: true, connectionName: 'warren-bench' });
  // Without a listener, an 'error' event would end the process with an uninformative stack.
  connection.on('error', (error) => {
    process.stderr.write(`rabbitmq-client connection error: ${String(error)}\n`);
  });
  await connection.onConnect(CONNECT_TIMEOUT_MS);
  return connection;
}

export async function connect(url: string): Promise<BenchClient> {
  const connection = await open(url);
  const channel = await connection.acquire();
  return new RabbitmqClient(connection, channel);
}

class RabbitmqClient implements BenchClient {
  readonly #connection: Connection;
  readonly #channel: Channel;

  constructor(connection: Connection, channel: Channel) {
    this.#connection = connection;
    this.#channel = channel;
  }

  async messageCount(queue: string): Promise<number> {
    const { messageCount } = await this.#channel.queueDeclare({ queue, passive: true });
    return messageCount;
  }

  async publish(queue: string, body: Buffer, count: number, headers?: HeaderSet): Promise<void> {
    const envelope = headers === undefined ? { routingKey: queue } : { routingKey: queue, headers: toRabbitmqHeaders(headers) };
    for (let index = 0; index < count; index++) {
      // The promise resolves once the frames are written to the socket.
      await this.#channel.basicPublish(envelope, body);
    }
  }

  async openConfirmPublisher(): Promise<ConfirmPublisher> {
    const channel = await this.#connection.acquire();
    await channel.confirmSelect();
    return {
      publish: (queue, body) => channel.basicPublish({ routingKey: queue }, body),
      close: () => channel.close(),
    };
  }

  async consume(queue: string, count: number, prefetch: number): Promise<ConsumeSummary> {
    const channel = await this.#connection.acquire();
    await channel.basicQos({ prefetchCount: prefetch });

    const summary: ConsumeSummary = { received: 0, firstHeaderCount: 0 };
    const done = deferred();
    channel.once('close', () => done.reject(new Error(`channel closed after ${summary.received} of ${count} messages`)));

    const { consumerTag } = await channel.basicConsume({ queue, noAck: false }, (message) => {
      if (summary.received === 0) summary.firstHeaderCount = Object.keys(message.headers ?? {}).length;
      channel.basicAck({ deliveryTag: message.deliveryTag });
      summary.received++;
      if (summary.received === count) done.resolve();
    });
    await done.promise;

    await channel.basicCancel(consumerTag);
    await channel.close();
    return summary;
  }

  async get(queue: string): Promise<number> {
    const message = await this.#channel.basicGet({ queue, noAck: false });
    if (message === undefined) throw new Error(`basic.get found queue ${queue} empty`);

    this.#channel.basicAck({ deliveryTag: message.deliveryTag });
    return (message.body as Buffer).length;
  }

  async serveRpc(url: string, queue: string): Promise<() => Promise<void>> {
    const connection = await open(url);
    const channel = await connection.acquire();
    await channel.basicQos({ prefetchCount: RPC_SERVER_PREFETCH });
    const { consumerTag } = await channel.basicConsume({ queue, noAck: false }, (request) => {
      void channel.basicPublish({ routingKey: request.replyTo, correlationId: request.correlationId }, request.body);
      channel.basicAck({ deliveryTag: request.deliveryTag });
    });
    return async () => {
      await channel.basicCancel(consumerTag);
      await channel.close();
      await connection.close();
    };
  }

  async openRpcCaller(): Promise<RpcCaller> {
    const channel = await this.#connection.acquire();
    const pending = new Map<string, () => void>();
    await channel.basicConsume({ queue: DIRECT_REPLY_TO, noAck: true }, (reply) => {
      const correlationId = reply.correlationId;
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
          channel.basicPublish({ routingKey: queue, replyTo: DIRECT_REPLY_TO, correlationId }, body).catch(reject);
        }),
      close: () => channel.close(),
    };
  }

  /** Closes the connection, which in this client waits until every acquired channel is closed. */
  async close(): Promise<void> {
    await this.#channel.close();
    await this.#connection.close();
  }
}

function toRabbitmqHeaders(headers: HeaderSet): Record<string, unknown> {
  const table: Record<string, unknown> = {};
  for (const [name, header] of Object.entries(headers)) table[name] = toRabbitmqValue(header);
  return table;
}

/**
 * Converts one header. The client infers types from JavaScript values and has no timestamp field
 * type, so a timestamp is sent as its seconds since the epoch, a 64-bit integer.
 */
function toRabbitmqValue(header: HeaderValue): unknown {
  switch (header.type) {
    case 'timestamp':
      return toEpochSeconds(header.value);
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
