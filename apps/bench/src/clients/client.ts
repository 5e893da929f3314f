/**
 * The interface that each client adapter implements, so that one workload module can drive every
 * client the same way. An adapter uses only its library's public API, the way an application
 * would, and keeps that library's own idioms for backpressure and acknowledgements.
 */
import type { HeaderSet } from '../headers.js';

/** Names of the clients under test, as given to `--clients`. */
export const CLIENT_NAMES = ['warren', 'amqplib', 'cloudamqp', 'rabbitmq-client'] as const;

export type ClientName = (typeof CLIENT_NAMES)[number];

/** RabbitMQ's direct reply-to pseudo-queue. */
export const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

/** Prefetch count of every RPC server. The calls are sequential, so it never limits them. */
export const RPC_SERVER_PREFETCH = 100;

/** Publishes on a channel in confirm mode. */
export interface ConfirmPublisher {
  /** Publishes `body` to `queue` through the default exchange and resolves when the broker acks it. */
  publish(queue: string, body: Buffer): Promise<void>;
  /** Closes the channel. */
  close(): Promise<void>;
}

/** The requesting side of RPC over direct reply-to. */
export interface RpcCaller {
  /** Sends `body` to `queue` and resolves when the reply arrives. */
  call(queue: string, body: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** Counts from a consumer, which let the workload check that it received real messages. */
export interface ConsumeSummary {
  received: number;
  /** Number of headers in the first message received. */
  firstHeaderCount: number;
}

export interface BenchClient {
  /** Returns the number of ready messages in `queue`, from a passive `queue.declare`. */
  messageCount(queue: string): Promise<number>;

  /**
   * Publishes `count` copies of `body` to `queue` on one channel without confirms, and resolves
   * once the client has accepted the last one. It waits whenever the client signals backpressure,
   * in the way that the client documents. With `headers`, every message carries that set.
   */
  publish(queue: string, body: Buffer, count: number, headers?: HeaderSet): Promise<void>;

  /** Opens a channel in confirm mode. */
  openConfirmPublisher(): Promise<ConfirmPublisher>;

  /**
   * Consumes `count` messages from `queue` with the given prefetch count, acknowledges each one
   * manually, then cancels the consumer.
   */
  consume(queue: string, count: number, prefetch: number): Promise<ConsumeSummary>;

  /** Fetches one message with `basic.get`, acknowledges it and returns its body size in bytes. */
  get(queue: string): Promise<number>;

  /**
   * Starts an RPC server on a second connection that replies to each request from `queue` with
   * the request's body. Resolves with a function that stops the server and closes the connection.
   */
  serveRpc(url: string, queue: string): Promise<() => Promise<void>>;

  /** Opens an RPC caller on this connection. */
  openRpcCaller(): Promise<RpcCaller>;

  close(): Promise<void>;
}

/** Exports of each adapter module. */
export interface ClientModule {
  /** Library name and version, such as `amqplib 2.3.1`. */
  describe(): string;
  connect(url: string): Promise<BenchClient>;
}
