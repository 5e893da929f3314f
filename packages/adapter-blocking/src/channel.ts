import type { MessagePort } from 'node:worker_threads';
import {
  type ExchangeDeclareOptions,
  type Message,
  ownedCopy,
  type QueueDeclareOptions,
  type QueueDeclareResult,
  type QueueDeleteOptions,
  type ReturnedMessage,
} from '@warren/adapter-node';
import {
  type AmqpError,
  type BasicProperties,
  BasicPublish,
  ChannelClosedByClientError,
  ChannelError,
  ConnectionClosedByClientError,
  decodeBasicPropertiesBytes,
  type DecodedBasicProperties,
  encodeBasicPropertiesBytes,
  type FieldTable,
  InvalidArgumentError,
  validateDeliveryMode,
  Writer,
  writeTable,
} from '@warren/protocol';
import type { BlockingConnection } from './connection.js';
import { Fifo } from './fifo.js';
import { secondsToMs } from './scheduler.js';
import type { EncodedTable, MessageRecord, ReturnedRecord } from './wire.js';

/** Called with each message of a `basicConsume` consumer. */
export type OnMessageCallback = (message: Message, channel: BlockingChannel) => void;

export interface BasicConsumeOptions {
  /** Whether the broker considers messages acknowledged once sent. Default: false. */
  autoAck?: boolean;
  exclusive?: boolean;
  /** Consumer tag; by default the broker generates one. */
  consumerTag?: string;
  arguments?: FieldTable;
}

export interface ConsumeOptions {
  /** Seconds without a message after which the generator yields `null`; by default it waits forever. */
  inactivityTimeout?: number;
  autoAck?: boolean;
  exclusive?: boolean;
  arguments?: FieldTable;
}

export interface BasicQosOptions {
  /** Maximum unacknowledged messages; 0, the default, means no limit. */
  prefetchCount?: number;
  /** Maximum unacknowledged bytes; RabbitMQ supports only 0, meaning no limit. */
  prefetchSize?: number;
  /** Whether the limit applies to the whole channel (RabbitMQ) instead of each new consumer. */
  global?: boolean;
}

export interface BasicPublishOptions {
  /** Ask the broker to return the message when no queue receives it. */
  mandatory?: boolean;
}

interface ConsumerState {
  tag: string;
  /** The consumer of the `consume` generator, which pulls its messages instead of a callback. */
  generator: boolean;
  onMessage: OnMessageCallback | undefined;
  autoAck: boolean;
  /** Messages received and not yet dispatched or yielded. */
  pending: Fifo<MessageRecord>;
  /** Set once the broker cancelled the consumer or the client's cancel completed. */
  ended: boolean;
  /** Key of the `consume` arguments, to tell a resumed generator from a different one. */
  generatorKey?: string;
}


/**
 * A channel of a `BlockingConnection`, in the shape of Pika's `BlockingChannel`. Methods that
 * the broker replies to block until the reply and return it; errors are thrown.
 *
 * Consumer callbacks, return callbacks and cancel callbacks run only while the connection
 * dispatches: in `processDataEvents`, `sleep`, `startConsuming` and the `consume` generator.
 */
export class BlockingChannel {
  readonly #connection: BlockingConnection;
  /** The channel number on the connection. */
  readonly channelNumber: number;
  #closed = false;
  #closeError: AmqpError | undefined;
  /** The failure of a pipelined request, thrown by the next method called on this channel. */
  #deferredError: AmqpError | undefined;
  #confirmMode = false;
  readonly #consumers = new Map<string, ConsumerState>();
  /** Deliveries that arrived before the reply that names their consumer, by consumer tag. */
  readonly #early = new Map<string, MessageRecord[]>();
  #generator: ConsumerState | undefined;
  readonly #returnCallbacks: ((message: ReturnedMessage, channel: BlockingChannel) => void)[] = [];
  readonly #cancelCallbacks: ((consumerTag: string) => void)[] = [];

  /** @internal Use `connection.channel()`. */
  constructor(connection: BlockingConnection, channelNumber: number) {
    this.#connection = connection;
    this.channelNumber = channelNumber;
  }

  /** The connection this channel belongs to. */
  get connection(): BlockingConnection {
    return this.#connection;
  }

  get isOpen(): boolean {
    return !this.#closed;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Tags of the active consumers, including the `consume` generator's. */
  get consumerTags(): string[] {
    return [...this.#consumers.values()].filter((consumer) => !consumer.ended).map((consumer) => consumer.tag);
  }

  /** Closes the channel. Closing a closed channel does nothing. */
  close(): void {
    if (this.#closed) return;

    try {
      this.#call('close', []);
    } catch (error) {
      // The broker closed the channel first, which leaves it closed all the same.
      if (!(error instanceof ChannelError)) throw error;
    }
    this.receiveClose(undefined);
  }

  exchangeDeclare(exchange: string, type = 'direct', options: ExchangeDeclareOptions = {}): void {
    this.#call('exchangeDeclare', [exchange, type, withEncodedArguments(options)]);
  }

  exchangeDelete(exchange: string, options: { ifUnused?: boolean } = {}): void {
    this.#call('exchangeDelete', [exchange, options]);
  }

  exchangeBind(destination: string, source: string, routingKey = '', args: FieldTable = {}): void {
    this.#call('exchangeBind', [destination, source, routingKey, encodeTable(args)]);
  }

  exchangeUnbind(destination: string, source: string, routingKey = '', args: FieldTable = {}): void {
    this.#call('exchangeUnbind', [destination, source, routingKey, encodeTable(args)]);
  }

  /** Declares a queue. With an empty name the broker generates one, returned in `queue`. */
  queueDeclare(queue = '', options: QueueDeclareOptions = {}): QueueDeclareResult {
    return this.#call('queueDeclare', [queue, withEncodedArguments(options)]) as QueueDeclareResult;
  }

  queueBind(queue: string, exchange: string, routingKey = '', args: FieldTable = {}): void {
    this.#call('queueBind', [queue, exchange, routingKey, encodeTable(args)]);
  }

  queueUnbind(queue: string, exchange: string, routingKey = '', args: FieldTable = {}): void {
    this.#call('queueUnbind', [queue, exchange, routingKey, encodeTable(args)]);
  }

  /** Removes every ready message from the queue; returns how many it removed. */
  queuePurge(queue: string): number {
    return this.#call('queuePurge', [queue]) as number;
  }

  /** Deletes the queue; returns how many messages it held. */
  queueDelete(queue: string, options: QueueDeleteOptions = {}): number {
    return this.#call('queueDelete', [queue, options]) as number;
  }

  /** Starts using transactions on this channel (`tx.select`). */
  txSelect(): void {
    this.#call('txSelect', []);
  }

  /** Commits the messages published and acknowledged since the last commit. */
  txCommit(): void {
    this.#call('txCommit', []);
  }

  /** Discards the messages published and acknowledged since the last commit. */
  txRollback(): void {
    this.#call('txRollback', []);
  }

  /**
   * Limits the unacknowledged messages that the broker sends (`basic.qos`). Pass the prefetch
   * count as a number, as in the async adapter, or every limit as options.
   */
  basicQos(options: number | BasicQosOptions = {}): void {
    const limits = typeof options === 'number' ? { prefetchCount: options } : options;
    if (typeof limits !== 'object' || limits === null) {
      throw new InvalidArgumentError(`basicQos: expected a prefetch count or options, got ${typeof options}`, 'VALUE_TYPE_INVALID');
    }
    const { prefetchCount = 0, prefetchSize = 0, global = false } = limits;
    this.#call('basicQos', [prefetchCount, { prefetchSize, global }]);
  }

  /**
   * Asks the broker to pause (`false`) or resume (`true`) deliveries on this channel; returns
   * the state the broker confirms.
   *
   * NOTE: RabbitMQ 3.10 supports only `true`; it responds to `false` by closing the connection.
   */
  flow(active: boolean): boolean {
    return this.#call('flow', [active]) as boolean;
  }

  /**
   * Puts the channel in publisher confirm mode. From then on `basicPublish` returns only once
   * the broker has acked the message.
   */
  confirmDelivery(): void {
    this.#call('confirmSelect', []);
    this.#confirmMode = true;
  }

  /**
   * Publishes a message. A string body is sent as UTF-8. The body is copied and the copy is
   * transferred to the I/O thread, so the caller may change its buffer afterwards.
   *
   * Without confirms it returns once the message is queued for the I/O thread, which writes
   * messages in call order. It blocks only while more than 1 MiB of messages wait to be
   * written, which includes messages held while the broker blocks the connection. A failure to
   * send is thrown by the next call on this channel. After `confirmDelivery()` it returns once
   * the broker acks the message.
   *
   * @throws InvalidArgumentError when the body, a name or a property cannot be encoded, before
   *   anything is sent. In confirm mode, NackError when the broker nacks the message and
   *   UnroutableError when it returns a `mandatory` message. The close error of the channel or
   *   the connection once either has closed.
   */
  basicPublish(
    exchange: string,
    routingKey: string,
    body: Uint8Array | string,
    properties: BasicProperties = {},
    options: BasicPublishOptions = {},
  ): void {
    this.#connection.pollEvents();
    this.#throwIfUnusable();
    validateDeliveryMode(properties);
    // Encoding the method checks the exchange and routing key here, where the error belongs,
    // rather than on the I/O thread, which would report it at a later call.
    scratchWriter.begin();
    new BasicPublish(exchange, routingKey, options.mandatory === true, false).encode(scratchWriter);
    scratchWriter.finish();
    const encodedProperties = encodeBasicPropertiesBytes(properties);
    const bytes = ownedCopy(body);
    const transfer = [encodedProperties.buffer as ArrayBuffer, bytes.buffer];

    const request = {
      kind: 'publish' as const,
      channel: this.channelNumber,
      exchange,
      routingKey,
      mandatory: options.mandatory === true,
      properties: encodedProperties,
      body: bytes,
    };
    if (!this.#confirmMode) {
      this.#connection.postPublish(request, transfer, bytes.length);
      return;
    }
    const id = this.#connection.nextRequestId();
    this.#connection.post({ ...request, id }, transfer);
    this.#connection.waitForReply(id);
  }

  /** Fetches one message (`basic.get`); returns null when the queue is empty. */
  basicGet(queue: string, options: { autoAck?: boolean } = {}): Message | null {
    const record = this.#call('basicGet', [queue, { noAck: options.autoAck ?? false }]) as MessageRecord | null;
    return record === null ? null : toMessage(record);
  }

  /**
   * Starts a consumer whose messages go to `onMessage` when the connection dispatches, such as
   * in `startConsuming()`. Returns the consumer tag.
   */
  basicConsume(queue: string, onMessage: OnMessageCallback, options: BasicConsumeOptions = {}): string {
    if (typeof onMessage !== 'function') throw notAFunction('basicConsume');
    return this.#startConsumer(queue, options, false, onMessage).tag;
  }

  /**
   * Cancels a consumer. For an `autoAck` consumer it returns the messages received but not yet
   * dispatched, which would otherwise be lost. For a manual-ack consumer it requeues them with
   * `basic.nack` and returns an empty list.
   */
  basicCancel(consumerTag: string): Message[] {
    const consumer = this.#consumers.get(consumerTag);
    this.#call('basicCancel', [consumerTag]);
    if (consumer === undefined) return [];
    const pending = this.#endConsumer(consumer);
    return consumer.autoAck ? pending.map(toMessage) : [];
  }

  /**
   * Dispatches messages to the `basicConsume` callbacks of this channel until none is left,
   * because each was cancelled with `stopConsuming()` or `basicCancel()`, or by the broker.
   * While it waits, this thread's event loop does not run, so a `process.on('SIGINT')`
   * listener cannot stop it. Call `stopConsuming()` from a callback or a `callLater` timer.
   *
   * @throws ChannelError `REENTRANT_CALL` when called from a callback; the close error of the
   *   channel or connection when either closes; whatever a callback throws.
   */
  startConsuming(): void {
    if (this.#connection.dispatching) {
      throw new ChannelError('startConsuming cannot be called from a callback; return from the callback instead', {
        code: 'REENTRANT_CALL',
        source: 'client',
      });
    }
    this.#connection.pumpUntil(() => this.#closed || !this.#hasCallbackConsumers(), Infinity);
    // A close by the client, such as from a callback, ends consuming; any other close throws.
    if (this.#closed && isClosedByClient(this.#closeError)) return;
    this.#throwIfUnusable();
    // Run what the last events queued, such as the callbacks of a broker's cancel.
    this.#connection.processDataEvents(0);
  }

  /**
   * Cancels the consumer `consumerTag`, or without it every consumer of this channel, which
   * ends `startConsuming()` once the current callback returns.
   */
  stopConsuming(consumerTag?: string): void {
    if (consumerTag !== undefined) {
      this.basicCancel(consumerTag);
      return;
    }
    for (const consumer of [...this.#consumers.values()]) {
      if (consumer.ended) continue;
      if (consumer.generator) {
        this.cancel();
      } else {
        this.basicCancel(consumer.tag);
      }
    }
  }

  /**
   * Consumes `queue` as a generator: it yields each message, and `null` after each
   * `inactivityTimeout` seconds without one. While it waits, the connection dispatches other
   * events. Leaving the loop keeps the consumer; a later call with the same arguments resumes
   * it, and `cancel()` ends it.
   *
   * @throws ChannelError `CONSUMER_ARGUMENTS_DIFFER` when a generator with other arguments is
   *   active on this channel; the close error of the channel or connection when either closes.
   */
  *consume(queue: string, options: ConsumeOptions = {}): Generator<Message | null, void, undefined> {
    const { inactivityTimeout, ...consumeOptions } = options;
    const timeoutMs = inactivityTimeout === undefined ? undefined : secondsToMs(inactivityTimeout, 'inactivityTimeout');
    const consumer = this.#generatorFor(queue, consumeOptions);

    for (;;) {
      const record = consumer.pending.shift();
      if (record !== undefined) {
        yield toMessage(record);
        continue;
      }
      // A close by the client ends the generator; any other close throws its error.
      if (this.#closed && isClosedByClient(this.#closeError)) return;
      this.#throwIfUnusable();
      if (consumer.ended) return;

      const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
      const ready = this.#connection.pumpUntil(() => consumer.pending.length > 0 || consumer.ended || this.#closed, deadline);
      this.#throwIfUnusable();
      if (!ready) yield null;
    }
  }

  /**
   * Cancels the consumer of the `consume` generator. Messages it received but did not yield are
   * requeued, or with `autoAck` discarded. Returns how many that was; 0 when no generator runs.
   */
  cancel(): number {
    const consumer = this.#generator;
    if (consumer === undefined) return 0;

    if (!consumer.ended && !this.#closed) this.#call('basicCancel', [consumer.tag]);
    return this.#endConsumer(consumer).length;
  }

  /**
   * Number of messages that the `consume` generator can yield without waiting.
   */
  getWaitingMessageCount(): number {
    this.#connection.pollEvents();
    return this.#generator?.pending.length ?? 0;
  }

  /** Acknowledges a message, or with `multiple` every message up to it. */
  basicAck(deliveryTag: number, multiple = false): void {
    validateDeliveryTag(deliveryTag, 'basicAck');
    this.#send('basicAck', [deliveryTag, multiple]);
  }

  /** Rejects a message, or with `multiple` every message up to it; by default it is requeued. */
  basicNack(deliveryTag: number, multiple = false, requeue = true): void {
    validateDeliveryTag(deliveryTag, 'basicNack');
    this.#send('basicNack', [deliveryTag, multiple, requeue]);
  }

  /** Rejects one message; by default it is requeued. */
  basicReject(deliveryTag: number, requeue = true): void {
    validateDeliveryTag(deliveryTag, 'basicReject');
    this.#send('basicReject', [deliveryTag, requeue]);
  }

  /**
   * Asks the broker to redeliver every unacknowledged message on this channel (`basic.recover`).
   *
   * NOTE: RabbitMQ 3.10 supports only `requeue` true; it responds to false by closing the connection.
   */
  basicRecover(requeue = true): void {
    this.#call('basicRecover', [requeue]);
  }

  /** Calls `callback(consumerTag)` when the broker cancels a consumer of this channel. */
  addOnCancelCallback(callback: (consumerTag: string) => void): void {
    if (typeof callback !== 'function') throw notAFunction('addOnCancelCallback');
    this.#cancelCallbacks.push(callback);
  }

  /** Calls `callback(message, channel)` for each `mandatory` message that the broker returns, outside confirm mode. */
  addOnReturnCallback(callback: (message: ReturnedMessage, channel: BlockingChannel) => void): void {
    if (typeof callback !== 'function') throw notAFunction('addOnReturnCallback');
    this.#returnCallbacks.push(callback);
  }

  /**
   * Creates a handle that a `worker_threads` Worker uses to ack, nack, reject and publish on
   * this channel: transfer the returned port to it, and wrap it there in a `ChannelHandle`.
   * Its requests go straight to the I/O thread, in the order the worker sends them.
   */
  createHandle(): MessagePort {
    return this.#call('createHandle', []) as MessagePort;
  }

  /** @internal Takes in a delivery from the I/O thread. */
  receive(record: MessageRecord): void {
    const tag = record.consumerTag ?? '';
    const consumer = this.#consumers.get(tag);
    if (consumer === undefined) {
      const early = this.#early.get(tag);
      if (early === undefined) {
        this.#early.set(tag, [record]);
      } else {
        early.push(record);
      }
      this.#connection.enqueue(() => this.#dispatchOne(tag));
      return;
    }
    consumer.pending.push(record);
    if (!consumer.generator) this.#connection.enqueue(() => this.#dispatchOne(tag));
  }

  /**
   * @internal Takes in the broker's cancel of a consumer. Messages it received before the
   * cancel are still dispatched, because the broker counts them as delivered.
   */
  receiveCancel(consumerTag: string): void {
    const consumer = this.#consumers.get(consumerTag);
    if (consumer === undefined) return;

    consumer.ended = true;
    if (consumer.pending.length === 0 && !consumer.generator) this.#consumers.delete(consumerTag);
    for (const callback of this.#cancelCallbacks) this.#connection.enqueue(() => callback(consumerTag));
  }

  /** @internal Takes in a returned message. */
  receiveReturn(record: ReturnedRecord): void {
    // In confirm mode the publish itself throws UnroutableError instead.
    if (this.#confirmMode) return;

    for (const callback of this.#returnCallbacks) {
      this.#connection.enqueue(() => callback(toReturnedMessage(record), this));
    }
  }

  /** @internal Marks the channel closed; `error` is undefined when the client closed it. */
  receiveClose(error: AmqpError | undefined): void {
    if (this.#closed) return;

    this.#closed = true;
    this.#closeError = error;
    // Messages not yet dispatched can no longer be acked, and the broker requeues them.
    for (const consumer of this.#consumers.values()) {
      consumer.ended = true;
      consumer.pending.takeAll();
    }
    this.#consumers.clear();
    this.#early.clear();
    this.#connection.forget(this.channelNumber);
  }

  /** @internal Records the failure of a pipelined request, for the next call to throw. */
  receiveFailure(error: AmqpError): void {
    this.#deferredError ??= error;
  }

  #startConsumer(queue: string, options: BasicConsumeOptions, generator: boolean, onMessage?: OnMessageCallback): ConsumerState {
    const autoAck = options.autoAck ?? false;
    const tag = this.#call('basicConsume', [
      queue,
      {
        noAck: autoAck,
        exclusive: options.exclusive ?? false,
        ...(options.consumerTag !== undefined && { consumerTag: options.consumerTag }),
        ...(options.arguments !== undefined && { arguments: encodeTable(options.arguments) }),
      },
    ]) as string;

    const pending = new Fifo<MessageRecord>();
    for (const record of this.#early.get(tag) ?? []) pending.push(record);
    const consumer: ConsumerState = { tag, generator, onMessage, autoAck, pending, ended: false };
    this.#early.delete(tag);
    this.#consumers.set(tag, consumer);
    return consumer;
  }

  #generatorFor(queue: string, options: Omit<ConsumeOptions, 'inactivityTimeout'>): ConsumerState {
    const key = JSON.stringify([queue, options.autoAck ?? false, options.exclusive ?? false, options.arguments ?? {}], (_, value: unknown) =>
      typeof value === 'bigint' ? value.toString() : value,
    );
    const current = this.#generator;
    if (current !== undefined && !current.ended) {
      if (current.generatorKey === key) return current;
      throw new ChannelError(
        `channel ${this.channelNumber} already runs a consume generator with other arguments; call cancel() before consuming ${queue}`,
        { code: 'CONSUMER_ARGUMENTS_DIFFER', source: 'client' },
      );
    }
    const consumer = this.#startConsumer(queue, options, true);
    consumer.generatorKey = key;
    this.#generator = consumer;
    return consumer;
  }

  /** Forgets a cancelled consumer; requeues its undelivered messages unless `autoAck`, and returns them. */
  #endConsumer(consumer: ConsumerState): MessageRecord[] {
    consumer.ended = true;
    this.#consumers.delete(consumer.tag);
    if (this.#generator === consumer) this.#generator = undefined;

    const pending = consumer.pending.takeAll();
    if (!consumer.autoAck && !this.#closed) {
      for (const record of pending) this.#send('basicNack', [record.deliveryTag, false, true]);
    }
    return pending;
  }

  #dispatchOne(tag: string): void {
    const consumer = this.#consumers.get(tag);
    if (consumer === undefined || consumer.generator) return;

    const record = consumer.pending.shift();
    // A consumer that the broker cancelled stays until its last message is dispatched.
    if (consumer.ended && consumer.pending.length === 0) this.#consumers.delete(tag);
    if (record !== undefined) consumer.onMessage!(toMessage(record), this);
  }

  #hasCallbackConsumers(): boolean {
    for (const consumer of this.#consumers.values()) {
      if (!consumer.generator && !consumer.ended) return true;
    }
    return false;
  }

  #call(method: string, args: unknown[]): unknown {
    this.#throwIfUnusable();
    return this.#connection.call(this.channelNumber, method, args);
  }

  #send(method: 'basicAck' | 'basicNack' | 'basicReject', args: unknown[]): void {
    this.#connection.pollEvents();
    this.#throwIfUnusable();
    this.#connection.post({ kind: 'send', channel: this.channelNumber, method, args });
  }

  #throwIfUnusable(): void {
    this.#connection.throwIfClosed();
    if (this.#closed) {
      throw this.#closeError ?? new ChannelClosedByClientError(`channel ${this.channelNumber} is closed`, { code: 'CHANNEL_CLOSED', source: 'client' });
    }
    const deferred = this.#deferredError;
    if (deferred !== undefined) {
      this.#deferredError = undefined;
      throw deferred;
    }
  }
}

function notAFunction(method: string): InvalidArgumentError {
  return new InvalidArgumentError(`${method}: the callback must be a function`, 'VALUE_TYPE_INVALID');
}

function isClosedByClient(error: AmqpError | undefined): boolean {
  return error === undefined || error instanceof ChannelClosedByClientError || error instanceof ConnectionClosedByClientError;
}

/** Writer for what this thread encodes to check or to send; each result is copied out of it. */
const scratchWriter = new Writer(4096);

/** Encodes a field table argument, so that it keeps its value types on the way to the I/O thread. */
function encodeTable(table: FieldTable): EncodedTable {
  scratchWriter.begin();
  writeTable(scratchWriter, table);
  return { fieldTable: scratchWriter.finish().slice() };
}

function validateDeliveryTag(deliveryTag: number, method: string): void {
  if (Number.isSafeInteger(deliveryTag) && deliveryTag >= 0) return;
  throw new InvalidArgumentError(`${method}: deliveryTag must be an integer from 0 to 2^53-1, got ${String(deliveryTag)}`, 'VALUE_OUT_OF_RANGE');
}

function withEncodedArguments<T extends { arguments?: FieldTable }>(options: T): Omit<T, 'arguments'> & { arguments?: EncodedTable } {
  if (options.arguments === undefined) return options as Omit<T, 'arguments'>;
  return { ...options, arguments: encodeTable(options.arguments) };
}

/** Decodes the properties of a message that crossed threads, and wraps its body as a `Buffer`. */
function fromRecord<T extends { properties: Uint8Array; body: Uint8Array }>(
  record: T,
): Omit<T, 'properties' | 'body'> & { properties: DecodedBasicProperties; body: Buffer } {
  const { properties, body, ...fields } = record;
  return {
    ...fields,
    properties: decodeBasicPropertiesBytes(properties),
    body: Buffer.from(body.buffer, body.byteOffset, body.byteLength),
  };
}

function toMessage(record: MessageRecord): Message {
  return fromRecord(record);
}

function toReturnedMessage(record: ReturnedRecord): ReturnedMessage {
  return fromRecord(record);
}
