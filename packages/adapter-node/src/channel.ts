import { EventEmitter } from 'node:events';
import type { MessagePort } from 'node:worker_threads';
import {
  type AmqpError,
  type BasicProperties,
  BasicConsume,
  BasicGet,
  BasicQos,
  BasicRecover,
  BasicRecoverAsync,
  type ChannelEngine,
  type ChannelHandler,
  ChannelError,
  ChannelFlow,
  type ChannelFlowOk,
  ExchangeBind,
  ExchangeDeclare,
  ExchangeDelete,
  ExchangeUnbind,
  type FieldTable,
  type Message as EngineMessage,
  type Pending,
  publishBody,
  QueueBind,
  QueueDeclare,
  type QueueDeclareOk,
  QueueDelete,
  QueueUnbind,
  type QueueDeleteOk,
  QueuePurge,
  type QueuePurgeOk,
  type ReturnedMessage as EngineReturnedMessage,
  TxCommit,
  TxRollback,
  TxSelect,
} from '@warren/protocol';
import { createChannelHandlePort } from './channel-handle-dispatcher.js';
import type { Connection } from './connection.js';
import { Consumer, type MessageCallback } from './consumer.js';

/** A message received from the broker, with its body as a `Buffer`. */
export interface Message extends Omit<EngineMessage, 'body'> {
  body: Buffer;
}

/** A message that the broker returned as unroutable. */
export interface ReturnedMessage extends Omit<EngineReturnedMessage, 'body'> {
  body: Buffer;
}

/** Events of a `Channel`. */
export interface ChannelEvents {
  /** The channel closed; `error` is undefined when the client closed it. */
  close: [error: AmqpError | undefined];
  /** The broker returned a `mandatory` message that it could not route. */
  return: [message: ReturnedMessage];
  /** The broker paused (`false`) or resumed (`true`) publishing on this channel. */
  flow: [active: boolean];
}

export interface ExchangeDeclareOptions {
  passive?: boolean;
  durable?: boolean;
  autoDelete?: boolean;
  internal?: boolean;
  noWait?: boolean;
  arguments?: FieldTable;
}

export interface QueueDeclareOptions {
  passive?: boolean;
  durable?: boolean;
  exclusive?: boolean;
  autoDelete?: boolean;
  noWait?: boolean;
  arguments?: FieldTable;
}

/** With `noWait`, the method is sent without waiting for the broker's reply (the spec's no-wait bit). */
export interface NoWaitOptions {
  noWait?: boolean;
}

export interface QueueDeleteOptions {
  ifUnused?: boolean;
  ifEmpty?: boolean;
  noWait?: boolean;
}

export interface QosOptions {
  /** Maximum unacknowledged bytes; RabbitMQ supports only 0, meaning no limit. */
  prefetchSize?: number;
  /** Whether the limit applies to the whole channel (RabbitMQ) instead of each new consumer. */
  global?: boolean;
}

export interface PublishOptions {
  /** Ask the broker to return the message when no queue receives it. */
  mandatory?: boolean;
}

export interface ConsumeOptions {
  /** Consumer tag; by default the broker generates one. */
  consumerTag?: string;
  noLocal?: boolean;
  /** Whether the broker considers messages acknowledged once sent. Default: false. */
  noAck?: boolean;
  exclusive?: boolean;
  noWait?: boolean;
  arguments?: FieldTable;
}

export interface QueueDeclareResult {
  queue: string;
  messageCount: number;
  consumerCount: number;
}

const ignore = (): void => {};
const RESOLVED = Promise.resolve();

/**
 * An AMQP channel. Methods that the broker replies to return promises of the reply; publishes and
 * acknowledgements are sent without waiting. Every method is sent in the order it is called.
 *
 * It emits `close` once, `return` and `flow`. It never emits `error`: a channel error rejects
 * the pending promises and reaches `close` listeners.
 */
export class Channel extends EventEmitter<ChannelEvents> {
  readonly #connection: Connection;
  #engine: ChannelEngine | undefined;
  #consumers = new Set<Consumer>();
  /** @internal */
  readonly handler: ChannelHandler;

  /** @internal Use `connection.channel()`. */
  constructor(connection: Connection) {
    super();
    this.#connection = connection;
    this.handler = {
      onClose: (error) => {
        // A close that the client asked for ends the consumers quietly; any other reaches their readers.
        const consumerError = error?.source === 'client' ? undefined : error;
        for (const consumer of this.#consumers) consumer.end(consumerError);
        this.#consumers.clear();
        this.emit('close', error);
      },
      onReturn: (message) => this.emit('return', withBufferBody(message)),
      onFlow: (active) => this.emit('flow', active),
    };
  }

  /** @internal */
  attach(engine: ChannelEngine): void {
    this.#engine = engine;
  }

  /** Channel number on the connection. */
  get id(): number {
    return this.#engineOrThrow().id;
  }

  /** Whether the channel is open. */
  get isOpen(): boolean {
    return this.#engine?.state === 'open';
  }

  get connection(): Connection {
    return this.#connection;
  }

  /** Declares an exchange (`exchange.declare`). */
  async exchangeDeclare(exchange: string, type = 'direct', options: ExchangeDeclareOptions = {}): Promise<void> {
    const method = new ExchangeDeclare(
      exchange,
      type,
      options.passive ?? false,
      options.durable ?? false,
      options.autoDelete ?? false,
      options.internal ?? false,
      options.noWait ?? false,
      options.arguments ?? {},
    );
    await this.#request(method);
  }

  /** Deletes an exchange (`exchange.delete`); with `ifUnused`, only when it has no bindings. */
  async exchangeDelete(exchange: string, options: { ifUnused?: boolean; noWait?: boolean } = {}): Promise<void> {
    await this.#request(new ExchangeDelete(exchange, options.ifUnused ?? false, options.noWait ?? false));
  }

  /** Binds exchange `destination` to exchange `source` (`exchange.bind`, a RabbitMQ extension). */
  async exchangeBind(destination: string, source: string, routingKey = '', args: FieldTable = {}, options: NoWaitOptions = {}): Promise<void> {
    await this.#request(new ExchangeBind(destination, source, routingKey, options.noWait ?? false, args));
  }

  /** Removes a binding made by `exchangeBind` (`exchange.unbind`). */
  async exchangeUnbind(destination: string, source: string, routingKey = '', args: FieldTable = {}, options: NoWaitOptions = {}): Promise<void> {
    await this.#request(new ExchangeUnbind(destination, source, routingKey, options.noWait ?? false, args));
  }

  /**
   * Declares a queue (`queue.declare`). An empty name requests a name generated by the broker,
   * which the result contains.
   */
  async queueDeclare(queue = '', options: QueueDeclareOptions = {}): Promise<QueueDeclareResult> {
    const method = new QueueDeclare(
      queue,
      options.passive ?? false,
      options.durable ?? false,
      options.exclusive ?? false,
      options.autoDelete ?? false,
      options.noWait ?? false,
      options.arguments ?? {},
    );
    const ok = await this.#request<QueueDeclareOk>(method);
    if (ok === undefined) return { queue, messageCount: 0, consumerCount: 0 };
    return { queue: ok.queue, messageCount: ok.messageCount, consumerCount: ok.consumerCount };
  }

  /** Binds a queue to an exchange (`queue.bind`). */
  async queueBind(queue: string, exchange: string, routingKey = '', args: FieldTable = {}, options: NoWaitOptions = {}): Promise<void> {
    await this.#request(new QueueBind(queue, exchange, routingKey, options.noWait ?? false, args));
  }

  /** Removes a binding made by `queueBind` (`queue.unbind`). */
  async queueUnbind(queue: string, exchange: string, routingKey = '', args: FieldTable = {}): Promise<void> {
    await this.#request(new QueueUnbind(queue, exchange, routingKey, args));
  }

  /**
   * Removes every message that is not awaiting acknowledgement; resolves with their number, or
   * with 0 under `noWait`, when the broker does not reply.
   */
  async queuePurge(queue: string, options: NoWaitOptions = {}): Promise<number> {
    const ok = await this.#request<QueuePurgeOk | undefined>(new QueuePurge(queue, options.noWait ?? false));
    return ok?.messageCount ?? 0;
  }

  /** Deletes a queue; resolves with the number of messages deleted with it. */
  async queueDelete(queue: string, options: QueueDeleteOptions = {}): Promise<number> {
    const method = new QueueDelete(queue, options.ifUnused ?? false, options.ifEmpty ?? false, options.noWait ?? false);
    const ok = await this.#request<QueueDeleteOk>(method);
    return ok?.messageCount ?? 0;
  }

  /** Limits the unacknowledged messages that the broker sends to consumers (`basic.qos`). */
  async basicQos(prefetchCount: number, options: QosOptions = {}): Promise<void> {
    await this.#request(new BasicQos(options.prefetchSize ?? 0, prefetchCount, options.global ?? false));
  }

  /**
   * Publishes a message. A string body is sent as UTF-8. What the returned promise waits for
   * depends on the channel:
   *
   * - Normally the frames go to the socket at once, and the promise resolves at once too,
   *   unless the socket buffers more than the connection's `writeHighWaterMark`; then it resolves
   *   once the socket drains or closes. Awaiting it keeps memory bounded: at most the
   *   high-water mark, one message and 64 KiB of frames gathered for the next write.
   * - In confirm mode (`confirmSelect`) it resolves when the broker acks the message, and
   *   rejects with `NackError` on a nack, or with `UnroutableError` when a `mandatory` message
   *   was returned. Publishing never waits for one confirm before sending the next message.
   * - While the broker blocks the connection (`connection.blocked`) or pauses the channel
   *   (`channel.flow`), the message is held and the promise resolves once it is sent; it
   *   rejects if the channel or connection closes first.
   *
   * A rejection of a promise that is not awaited does not count as unhandled, so
   * fire-and-forget publishing cannot crash the process.
   *
   * @throws ChannelError or ConnectionError, synchronously, when the channel is closed, and
   *   InvalidArgumentError when the body, a property or a header cannot be encoded. Nothing is
   *   sent in either case.
   */
  basicPublish(
    exchange: string,
    routingKey: string,
    body: Uint8Array | string,
    properties: BasicProperties = {},
    options: PublishOptions = {},
  ): Promise<void> {
    const bytes = publishBody(body);
    const engine = this.#engineOrThrow();
    const mandatory = options.mandatory ?? false;

    if (!engine.confirmMode && !engine.publishingPaused) {
      engine.publish(exchange, routingKey, bytes, properties, mandatory, false);
      return this.#connection.waitForDrain() ?? RESOLVED;
    }

    let pending!: Pending<void>;
    const settled = new Promise<void>((resolve, reject) => {
      pending = { resolve, reject };
    });
    // Throws before anything is sent when the message cannot be encoded.
    engine.publish(exchange, routingKey, bytes, properties, mandatory, false, pending);
    settled.catch(ignore);
    return settled;
  }

  /**
   * Puts the channel in publisher confirm mode (`confirm.select`); from then on each
   * `basicPublish` resolves when the broker confirms the message.
   */
  confirmSelect(): Promise<void> {
    return this.#call<void>((pending) => this.#engineOrThrow().confirmSelect(pending));
  }

  /**
   * Resolves once every message published so far in confirm mode is confirmed, or rejects with
   * the first `NackError` or `UnroutableError` among them.
   */
  waitForConfirms(): Promise<void> {
    return this.#call<void>((pending) => this.#engineOrThrow().waitForConfirms(pending));
  }

  /** Starts using transactions on this channel (`tx.select`). */
  async txSelect(): Promise<void> {
    await this.#request(new TxSelect());
  }

  /** Commits the messages published and acknowledged since the last commit (`tx.commit`). */
  async txCommit(): Promise<void> {
    await this.#request(new TxCommit());
  }

  /** Discards the messages published and acknowledged since the last commit (`tx.rollback`). */
  async txRollback(): Promise<void> {
    await this.#request(new TxRollback());
  }

  /**
   * Asks the broker to redeliver every unacknowledged message on this channel (`basic.recover`).
   *
   * NOTE: RabbitMQ 3.10 supports only `requeue` true, which puts the messages back in their
   * queues. It responds to false by closing the whole connection with 540 NOT_IMPLEMENTED.
   */
  async basicRecover(requeue = true): Promise<void> {
    await this.#request(new BasicRecover(requeue));
  }

  /** Sends the deprecated `basic.recover-async`, to which the broker sends no reply. */
  basicRecoverAsync(requeue = true): void {
    this.#engineOrThrow().send(new BasicRecoverAsync(requeue));
  }

  /**
   * Asks the broker to pause (`false`) or resume (`true`) deliveries on this channel
   * (`channel.flow`); resolves with the state the broker confirms.
   *
   * NOTE: RabbitMQ 3.10 supports only `true`. It responds to `false` by closing the whole
   * connection with 540 NOT_IMPLEMENTED.
   */
  async flow(active: boolean): Promise<boolean> {
    const ok = await this.#request<ChannelFlowOk>(new ChannelFlow(active));
    return ok.active;
  }

  /** Whether the broker lets this channel publish; it pauses a channel with `channel.flow`. */
  get flowActive(): boolean {
    return this.#engine?.flowActive ?? true;
  }

  /**
   * Starts a consumer on `queue`. With `onMessage`, each message is passed to it; without, the
   * returned consumer is read with `for await`. Resolves once the broker confirms the consumer.
   */
  async basicConsume(queue: string, onMessage?: MessageCallback, options: ConsumeOptions = {}): Promise<Consumer> {
    const consumer = new Consumer(this, onMessage, () => this.#consumers.delete(consumer));
    const method = new BasicConsume(
      queue,
      options.consumerTag ?? '',
      options.noLocal ?? false,
      options.noAck ?? false,
      options.exclusive ?? false,
      options.noWait ?? false,
      options.arguments ?? {},
    );
    // Registered before the broker confirms it, so that a close arriving right behind the
    // consume-ok still ends it.
    this.#consumers.add(consumer);
    try {
      const tag = await this.#call<string>((pending) => this.#engineOrThrow().consume(method, consumer.handler, pending));
      consumer.started(tag);
    } catch (error) {
      this.#consumers.delete(consumer);
      throw error;
    }
    return consumer;
  }

  /**
   * Cancels a consumer (`basic.cancel`); it receives no message after the promise resolves,
   * and a `for await` loop over it ends.
   */
  async basicCancel(consumerTag: string): Promise<void> {
    await this.#call<void>((pending) => this.#engineOrThrow().cancel(consumerTag, pending));
    for (const consumer of this.#consumers) {
      if (consumer.tag === consumerTag) consumer.end(undefined);
    }
  }

  /** Fetches one message (`basic.get`); resolves with null when the queue is empty. */
  async basicGet(queue: string, options: { noAck?: boolean } = {}): Promise<Message | null> {
    const message = await this.#call<EngineMessage | null>((pending) =>
      this.#engineOrThrow().get(new BasicGet(queue, options.noAck ?? false), pending),
    );
    return message === null ? null : withBufferBody(message);
  }

  /** Acknowledges a message, or with `multiple` every message up to it. */
  basicAck(deliveryTag: number, multiple = false): void {
    this.#engineOrThrow().ack(deliveryTag, multiple);
  }

  /** Rejects a message, or with `multiple` every message up to it; by default it is requeued. */
  basicNack(deliveryTag: number, multiple = false, requeue = true): void {
    this.#engineOrThrow().nack(deliveryTag, multiple, requeue);
  }

  /** Rejects one message; by default it is requeued. */
  basicReject(deliveryTag: number, requeue = true): void {
    this.#engineOrThrow().reject(deliveryTag, requeue);
  }

  /**
   * Creates a port through which a `ChannelHandle` on another thread, such as a
   * `worker_threads` Worker, acks, nacks, rejects and publishes on this channel. Transfer the
   * port, then construct the handle on the other side:
   *
   * ```ts
   * const handle = channel.createHandle();
   * worker.postMessage({ handle }, [handle]);
   * // in the worker: const channelHandle = new ChannelHandle(handle);
   * ```
   *
   * The requests run on this thread, in the order the handle sends them, and nothing they
   * raise is thrown here. This end of the port is unref'd, so it never keeps the process alive.
   * It stays open after the channel closes, so that each later request gets an error that
   * names the reason, and it closes once the connection has closed. Each call returns a new
   * port, for one `ChannelHandle`.
   *
   * @throws ChannelError `CHANNEL_NOT_OPEN` when the channel was not opened yet.
   */
  createHandle(): MessagePort {
    return createChannelHandlePort(this);
  }

  /** Closes the channel; pending requests reject with a `CHANNEL_CLOSED` error. */
  close(): Promise<void> {
    return this.#call<void>((pending) => this.#engineOrThrow().close(pending));
  }

  #request<T>(method: Parameters<ChannelEngine['request']>[0]): Promise<T> {
    return this.#call<T>((pending) => this.#engineOrThrow().request(method, pending as Pending<never>));
  }

  #call<T>(start: (pending: Pending<T>) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      try {
        start({ resolve, reject });
      } catch (error) {
        reject(error);
      }
    });
  }

  #engineOrThrow(): ChannelEngine {
    if (this.#engine === undefined) {
      throw new ChannelError('the channel is not open yet', { code: 'CHANNEL_NOT_OPEN', source: 'client' });
    }
    return this.#engine;
  }
}

/** Wraps a received body as a `Buffer` over the same memory, so Node code gets its usual type. */
export function withBufferBody<T extends { body: Uint8Array }>(message: T): Omit<T, 'body'> & { body: Buffer } {
  const body = message.body;
  // A body that arrived in one frame is already a Buffer, from Node's pool or a TLS read.
  if (!Buffer.isBuffer(body)) (message as { body: Uint8Array }).body = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return message as unknown as Omit<T, 'body'> & { body: Buffer };
}
