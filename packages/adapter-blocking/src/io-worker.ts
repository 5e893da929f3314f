/**
 * The I/O thread of a `BlockingConnection`: it owns the socket and an `@warren/adapter-node`
 * connection, runs the requests that the calling thread posts, in order, and posts back replies
 * and events. Because it has its own event loop, heartbeats keep flowing however long the
 * calling thread is busy.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import {
  type Channel,
  type Connection,
  type ConnectOptions,
  type Message,
  type ReturnedMessage,
  connect,
  decodePublishProperties,
  decodeTypedTable,
  ownedBytes,
  prepareReturnedForTransfer,
} from '@warren/adapter-node';
import {
  type AmqpError,
  ChannelError,
  ConnectionError,
  encodeBasicPropertiesBytes,
  errorToRecord,
  InvalidArgumentError,
} from '@warren/protocol';
import {
  ALIVE,
  type CallRequest,
  isEncodedTable,
  type MessageRecord,
  PUBLISH_OVERHEAD,
  PUBLISHES_WRITTEN,
  type PublishRequest,
  type Request,
  type ReturnedRecord,
  SIGNAL,
  type SendRequest,
  type WorkerMessage,
  WORKER_STARTED,
  type WorkerStart,
} from './wire.js';

type ChannelMethod = (this: Channel, ...args: unknown[]) => unknown;

/** Interval in milliseconds of the sign of life that the calling thread checks while it waits. */
const ALIVE_INTERVAL_MS = 500;

/** Channel methods that the calling thread may call by name; anything else is rejected. */
const CHANNEL_CALLS = new Set([
  'exchangeDeclare',
  'exchangeDelete',
  'exchangeBind',
  'exchangeUnbind',
  'queueDeclare',
  'queueBind',
  'queueUnbind',
  'queuePurge',
  'queueDelete',
  'basicQos',
  'basicCancel',
  'basicRecover',
  'confirmSelect',
  'txSelect',
  'txCommit',
  'txRollback',
  'flow',
  'close',
]);

class IoWorker {
  readonly #port: MessagePort;
  readonly #shared: Int32Array;
  #connection: Connection | undefined;
  readonly #channels = new Map<number, Channel>();
  /** Close error of each closed channel, kept until its number is used again, for requests that arrive late. */
  readonly #closeErrors = new Map<number, AmqpError>();
  /** Channels whose pipelined failure was reported; one report is enough, because the caller throws it at once. */
  readonly #failureReported = new Set<number>();
  /** Bytes of publishes handed to the socket; wraps around like the shared `Int32` slot it feeds. */
  #publishBytesWritten = 0;

  constructor(start: WorkerStart, port: MessagePort) {
    this.#port = port;
    this.#shared = start.shared;
    port.on('message', (request: Request) => this.#handle(request));
    setInterval(() => Atomics.add(this.#shared, ALIVE, 1), ALIVE_INTERVAL_MS).unref();
    // The calling thread closes its end once the connection is closed or has failed. Nothing
    // else needs this thread then, so closing the connection lets its event loop end.
    port.on('close', () => void this.#connection?.close());
  }

  async open(start: WorkerStart): Promise<void> {
    const target = this.#connectTarget(start);
    try {
      const connection = await connect(target);
      this.#connection = connection;
      connection.on('close', (error) => {
        this.#post({ kind: 'close', ...(error && { error: errorToRecord(error) }) });
        // After a failure the calling thread reads the close before waiting for any reply, so
        // the port can close now and let this thread end. A close by the client closes the port
        // once it has replied.
        if (error !== undefined) this.#port.close();
      });
      connection.on('blocked', (reason) => this.#post({ kind: 'blocked', reason }));
      connection.on('unblocked', () => this.#post({ kind: 'unblocked' }));
      this.#post({ kind: 'open', serverProperties: connection.serverProperties, tune: connection.tune });
    } catch (error) {
      this.#post({ kind: 'open-failed', error: errorToRecord(error) });
    }
  }

  #connectTarget(start: WorkerStart): string | ConnectOptions | undefined {
    const target = start.target as string | ConnectOptions | undefined;
    if (!start.forwardLog && !start.forwardTrace) return target;

    const options: ConnectOptions = typeof target === 'string' ? { url: target } : { ...target };
    if (start.forwardLog) {
      const forward = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, fields?: Record<string, unknown>) =>
        this.#post({ kind: 'log', level, message, ...(fields && { fields: plainFields(fields) }) });
      options.logger = { debug: forward('debug'), info: forward('info'), warn: forward('warn'), error: forward('error') };
    }
    if (start.forwardTrace) {
      options.frameTrace = (direction, channel, description) => this.#post({ kind: 'trace', direction, channel, description });
    }
    return options;
  }

  #post(message: WorkerMessage, transfer?: (ArrayBuffer | MessagePort)[]): void {
    this.#port.postMessage(message, transfer);
    Atomics.add(this.#shared, SIGNAL, 1);
    Atomics.notify(this.#shared, SIGNAL);
  }

  #handle(request: Request): void {
    Atomics.add(this.#shared, ALIVE, 1);
    switch (request.kind) {
      case 'publish':
        this.#publish(request);
        return;
      case 'send':
        this.#send(request);
        return;
      case 'call':
        this.#call(request).then(
          (value) => {
            if (value !== HANDLED) this.#reply(request.id, value);
            if (request.target === 'connection' && request.method === 'close') this.#port.close();
          },
          (error: unknown) => this.#replyError(request.id, error),
        );
        return;
    }
  }

  #reply(id: number, value: unknown): void {
    if (isMessageRecord(value)) {
      this.#post({ kind: 'reply', id, value }, [value.properties.buffer as ArrayBuffer, value.body.buffer as ArrayBuffer]);
      return;
    }
    this.#post({ kind: 'reply', id, value });
  }

  async #call(request: CallRequest): Promise<unknown> {
    if (request.target === 'connection') return this.#callConnection(request);

    const channel = this.#channel(request.target);
    const method = request.method;
    const args = request.args.map(decodeTables);
    switch (method) {
      case 'basicGet': {
        const message = await channel.basicGet(args[0] as string, args[1] as { noAck?: boolean });
        return message === null ? null : messageRecord(message);
      }
      case 'basicConsume':
        return this.#consume(request.target, channel, args);
      case 'waitForConfirms':
        return channel.waitForConfirms();
      case 'createHandle':
        return this.#createHandle(request.id, channel);
    }
    if (!CHANNEL_CALLS.has(method)) throw unknownMethod(method);

    const result = await (channel[method as keyof Channel] as ChannelMethod).apply(channel, args);
    if (method === 'close') this.#channels.delete(request.target);
    return result;
  }

  async #callConnection(request: CallRequest): Promise<unknown> {
    const connection = this.#connection!;
    switch (request.method) {
      case 'channel': {
        const channel = await connection.channel();
        this.#watchChannel(channel);
        return channel.id;
      }
      case 'close':
        await connection.close();
        return undefined;
      case 'updateSecret':
        return connection.updateSecret(request.args[0] as string, request.args[1] as string | undefined);
      default:
        throw unknownMethod(request.method);
    }
  }

  #watchChannel(channel: Channel): void {
    const id = channel.id;
    this.#channels.set(id, channel);
    this.#closeErrors.delete(id);
    this.#failureReported.delete(id);
    channel.on('close', (error) => {
      this.#channels.delete(id);
      if (error !== undefined) this.#closeErrors.set(id, error);
      this.#post({ kind: 'channel-close', channel: id, ...(error && { error: errorToRecord(error) }) });
    });
    channel.on('return', (message) => {
      const record = returnedRecord(message);
      this.#post({ kind: 'return', channel: id, message: record }, [
        record.properties.buffer as ArrayBuffer,
        record.body.buffer as ArrayBuffer,
      ]);
    });
  }

  async #consume(channelId: number, channel: Channel, args: unknown[]): Promise<string> {
    const deliver = (message: Message) => {
      const record = messageRecord(message);
      this.#post({ kind: 'deliver', channel: channelId, message: record }, [
        record.properties.buffer as ArrayBuffer,
        record.body.buffer as ArrayBuffer,
      ]);
    };
    const consumer = await channel.basicConsume(args[0] as string, deliver, args[1] as object);
    consumer.on('cancel', () => this.#post({ kind: 'cancel', channel: channelId, consumerTag: consumer.tag }));
    return consumer.tag;
  }

  #createHandle(id: number, channel: Channel): symbol {
    const handle = channel.createHandle();
    this.#post({ kind: 'reply', id, value: handle }, [handle]);
    return HANDLED;
  }

  #publish(request: PublishRequest): void {
    let written: Promise<void>;
    try {
      const channel = this.#channel(request.channel);
      // Decoded with each header's wire type, so the publish sends the bytes that were encoded.
      const properties = decodePublishProperties(request.properties);
      written = channel.basicPublish(request.exchange, request.routingKey, request.body, properties, { mandatory: request.mandatory });
    } catch (error) {
      this.#settlePublish(request, error);
      return;
    }
    written.then(
      () => this.#settlePublish(request, undefined),
      (error: unknown) => this.#settlePublish(request, error),
    );
  }

  /** Replies with an error; the returned message of an `UnroutableError` crosses intact. */
  #replyError(id: number, error: unknown): void {
    const record = errorToRecord(error);
    const transfer: ArrayBuffer[] = [];
    prepareReturnedForTransfer(record, transfer);
    this.#post({ kind: 'reply', id, error: record }, transfer);
  }

  #settlePublish(request: PublishRequest, error: unknown): void {
    if (request.id !== undefined) {
      if (error === undefined) this.#post({ kind: 'reply', id: request.id });
      else this.#replyError(request.id, error);
      return;
    }
    if (error !== undefined) this.#reportFailure(request.channel, error);
    this.#publishBytesWritten = (this.#publishBytesWritten + request.body.length + PUBLISH_OVERHEAD) | 0;
    Atomics.store(this.#shared, PUBLISHES_WRITTEN, this.#publishBytesWritten);
    Atomics.notify(this.#shared, PUBLISHES_WRITTEN);
  }

  #send(request: SendRequest): void {
    try {
      const channel = this.#channel(request.channel);
      const [first, second, third] = request.args as [number, boolean, boolean];
      switch (request.method) {
        case 'basicAck':
          channel.basicAck(first, second);
          return;
        case 'basicNack':
          channel.basicNack(first, second, third);
          return;
        case 'basicReject':
          channel.basicReject(first, second);
          return;
        default:
          throw unknownMethod(request.method);
      }
    } catch (error) {
      this.#reportFailure(request.channel, error);
    }
  }

  #reportFailure(channel: number, error: unknown): void {
    if (this.#failureReported.has(channel)) return;

    this.#failureReported.add(channel);
    this.#post({ kind: 'send-failed', channel, error: errorToRecord(error) });
  }

  #channel(id: number): Channel {
    const channel = this.#channels.get(id);
    if (channel !== undefined) return channel;

    throw this.#closeErrors.get(id) ?? new ChannelError(`channel ${id} is closed`, { code: 'CHANNEL_CLOSED', source: 'client' });
  }
}

/** Returned by a call whose reply was already posted, with transferred objects. */
const HANDLED = Symbol('handled');

/** Decodes a field table argument, or the `arguments` table of an options object. */
function decodeTables(value: unknown): unknown {
  if (isEncodedTable(value)) return decodeTypedTable(value.fieldTable);
  if (typeof value !== 'object' || value === null) return value;

  const table = (value as { arguments?: unknown }).arguments;
  if (!isEncodedTable(table)) return value;
  return { ...value, arguments: decodeTypedTable(table.fieldTable) };
}

function unknownMethod(method: string): InvalidArgumentError {
  return new InvalidArgumentError(`the blocking adapter's I/O thread has no method ${method}; this is a bug in Warren`, 'IO_THREAD_REQUEST_INVALID');
}

function messageRecord(message: Message): MessageRecord {
  const record: MessageRecord = {
    deliveryTag: message.deliveryTag,
    redelivered: message.redelivered,
    exchange: message.exchange,
    routingKey: message.routingKey,
    properties: encodeBasicPropertiesBytes(message.properties),
    body: ownedBytes(message.body),
  };
  if (message.consumerTag !== undefined) record.consumerTag = message.consumerTag;
  if (message.messageCount !== undefined) record.messageCount = message.messageCount;
  return record;
}

function returnedRecord(message: ReturnedMessage): ReturnedRecord {
  return {
    replyCode: message.replyCode,
    replyText: message.replyText,
    exchange: message.exchange,
    routingKey: message.routingKey,
    properties: encodeBasicPropertiesBytes(message.properties),
    // Always a copy: in confirm mode the engine still compares this body with the publishes
    // awaiting their confirm, and transferring it would empty it.
    body: new Uint8Array(message.body),
  };
}

function isMessageRecord(value: unknown): value is MessageRecord {
  return typeof value === 'object' && value !== null && 'deliveryTag' in value && 'body' in value;
}

/** Makes log fields cloneable: errors become their message and code, and functions are dropped. */
function plainFields(fields: Record<string, unknown>): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value instanceof Error) {
      plain[key] = errorToRecord(value);
    } else if (typeof value !== 'function' && typeof value !== 'symbol') {
      plain[key] = value;
    }
  }
  return plain;
}

const start = workerData as WorkerStart & { port: MessagePort };
const worker = new IoWorker(start, start.port);
Atomics.store(start.shared, WORKER_STARTED, 1);

// A fault in this thread must reach the calling thread, which may be waiting in Atomics.wait
// and could otherwise wait forever.
process.on('uncaughtException', (error) => {
  const failure = new ConnectionError(`the blocking adapter's I/O thread failed: ${error.message}`, {
    code: 'IO_THREAD_FAILED',
    source: 'client',
    cause: error,
  });
  start.port.postMessage({ kind: 'close', error: errorToRecord(failure) } satisfies WorkerMessage);
  Atomics.add(start.shared, SIGNAL, 1);
  Atomics.notify(start.shared, SIGNAL);
  process.exit(1);
});

void worker.open(start);
