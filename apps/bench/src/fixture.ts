/**
 * The runner's own Warren connection, which creates a fresh queue for each run, prefills it
 * when the workload consumes, and deletes it afterwards. None of this is measured.
 */
import { randomBytes } from 'node:crypto';
import { type Channel, type Connection, connect } from '@warren/adapter-node';
import { makeBody, waitUntilQueued } from './workloads.js';

export class Fixture {
  readonly #connection: Connection;
  readonly #channel: Channel;

  private constructor(connection: Connection, channel: Channel) {
    this.#connection = connection;
    this.#channel = channel;
  }

  static async open(url: string): Promise<Fixture> {
    const connection = await connect({ url, connectionName: 'warren-bench-runner' });
    return new Fixture(connection, await connection.channel());
  }

  /** Broker product and version from `connection.start`, such as `RabbitMQ 3.10.7`. */
  get broker(): string {
    const { product, version } = this.#connection.serverProperties;
    return `${String(product ?? 'unknown broker')} ${String(version ?? '')}`.trim();
  }

  /** Declares a new, empty, non-durable queue whose name starts with `prefix`, and returns its name. */
  async createQueue(prefix: string): Promise<string> {
    const name = `${prefix}-${randomBytes(4).toString('hex')}`;
    await this.#channel.queueDeclare(name, { durable: false, autoDelete: false, exclusive: false });
    return name;
  }

  /** Publishes `count` messages of `bodySize` bytes to `queue` and waits until the queue contains them. */
  async prefill(queue: string, count: number, bodySize: number): Promise<void> {
    const body = makeBody(bodySize);
    for (let index = 0; index < count; index++) await this.#channel.basicPublish('', queue, body);

    const messageCount = async (name: string): Promise<number> => (await this.#channel.queueDeclare(name, { passive: true })).messageCount;
    await waitUntilQueued({ messageCount }, queue, count);
  }

  async deleteQueue(queue: string): Promise<void> {
    await this.#channel.queueDelete(queue);
  }

  async close(): Promise<void> {
    await this.#connection.close();
  }
}
