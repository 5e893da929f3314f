import type { MessagePort } from 'node:worker_threads';
import {
  AmqpError,
  type BasicProperties,
  ChannelClosedByClientError,
  ConnectionClosedByClientError,
  ConnectionError,
  type ErrorRecord,
  InvalidArgumentError,
  errorToRecord,
} from '@warren/protocol';
import { loadWorkerThreads } from './builtins.js';
import type { PublishOptions } from './channel.js';
import {
  type ChannelHandleReply,
  type ChannelHandleRequest,
  type PublishRequest,
  findRequestProblem,
  requestIdOf,
} from './channel-handle-messages.js';
import { prepareReturnedForTransfer } from './error-transfer.js';
import { decodePublishProperties } from './publish-properties.js';

/** Members of a `Channel` that a dispatcher uses, so that tests can pass a stand-in. */
export interface DispatchTarget {
  readonly id: number;
  readonly isOpen: boolean;
  readonly connection: { readonly closed: Promise<AmqpError | undefined> };
  basicAck(deliveryTag: number, multiple: boolean): void;
  basicNack(deliveryTag: number, multiple: boolean, requeue: boolean): void;
  basicReject(deliveryTag: number, requeue: boolean): void;
  basicPublish(exchange: string, routingKey: string, body: Uint8Array, properties?: BasicProperties, options?: PublishOptions): Promise<void>;
}

/**
 * Creates the port that `Channel.createHandle()` returns, and serves the requests that arrive
 * on its other end. The port carries the channel id as its first message, so that
 * `new ChannelHandle(port)` reads the id at once.
 */
export function createChannelHandlePort(channel: DispatchTarget): MessagePort {
  // Read first: it throws for a channel that is not open yet, before any port exists.
  const channelId = channel.id;
  const { port1, port2 } = new (loadWorkerThreads().MessageChannel)();
  const dispatcher = new ChannelHandleDispatcher(channel, channelId, port1);
  dispatcher.sendOpen();
  watchConnection(channel.connection, dispatcher);
  return port2;
}

/** Dispatchers whose port is open, by connection, so one `closed` reaction serves them all. */
const dispatchersByConnection = new WeakMap<object, Set<ChannelHandleDispatcher>>();

function watchConnection(connection: DispatchTarget['connection'], dispatcher: ChannelHandleDispatcher): void {
  const dispatchers = dispatchersByConnection.get(connection) ?? watchedConnection(connection);
  dispatchers.add(dispatcher);
  dispatcher.onPortClosed = () => dispatchers.delete(dispatcher);
}

function watchedConnection(connection: DispatchTarget['connection']): Set<ChannelHandleDispatcher> {
  const dispatchers = new Set<ChannelHandleDispatcher>();
  dispatchersByConnection.set(connection, dispatchers);
  // `closed` never rejects, and connectionClosed() throws nothing.
  void connection.closed.then((error) => {
    for (const dispatcher of dispatchers) dispatcher.connectionClosed(error);
    dispatchers.clear();
  });
  return dispatchers;
}

/**
 * Runs the requests of one `ChannelHandle` on the thread that owns the connection.
 *
 * How it works: one `message` listener takes each request in arrival order and calls the
 * channel method at once, so the broker receives them in the order the worker sent them. Every
 * throw becomes a `rejected` reply, and nothing is thrown back onto this thread. Successes are
 * gathered and sent as one `resolved` reply per turn of the event loop. The port is unref'd, so
 * it never keeps the process alive. It stays open after the channel closes, so every later
 * request gets a reply that names the reason, and it closes once the connection has closed.
 */
export class ChannelHandleDispatcher {
  readonly #channel: DispatchTarget;
  readonly #channelId: number;
  readonly #port: MessagePort;
  /** Ids of requests carried out since the last `resolved` reply. */
  readonly #resolvedIds: number[] = [];
  #portClosed = false;
  /** Called once when the port closes, from either side. */
  onPortClosed: (() => void) | undefined;

  constructor(channel: DispatchTarget, channelId: number, port: MessagePort) {
    this.#channel = channel;
    this.#channelId = channelId;
    this.#port = port;
    port.on('message', (message: unknown) => this.#handleMessage(message));
    port.on('close', () => this.#handlePortClose());
    port.unref();
  }

  /** Queues the first message, which carries the channel id to the handle. */
  sendOpen(): void {
    this.#post({ type: 'open', channelId: this.#channelId });
  }

  /**
   * Replies to the requests still queued on the port, each with the error that the closed
   * channel raises, then sends `closed` and closes the port. Requests that the worker sends
   * after this are lost, and its handle rejects them with the error of the `closed` reply.
   */
  connectionClosed(error: AmqpError | undefined): void {
    if (this.#portClosed) return;

    let queued: { message: unknown } | undefined;
    const { receiveMessageOnPort } = loadWorkerThreads();
    while ((queued = receiveMessageOnPort(this.#port)) !== undefined) this.#handleMessage(queued.message);
    this.#flushResolved();

    this.#post({ type: 'closed', error: connectionClosedRecord(this.#channelId, error) });
    this.#handlePortClose();
    this.#port.close();
  }

  #handleMessage(message: unknown): void {
    const problem = findRequestProblem(message);
    if (problem !== undefined) {
      this.#reject(requestIdOf(message), new InvalidArgumentError(`channel handle: ${problem}`, 'CHANNEL_HANDLE_REQUEST_INVALID'));
      return;
    }

    const request = message as ChannelHandleRequest;
    if (request.method === 'basic.publish') {
      this.#publish(request);
      return;
    }
    try {
      switch (request.method) {
        case 'basic.ack':
          this.#channel.basicAck(request.deliveryTag, request.multiple);
          break;
        case 'basic.nack':
          this.#channel.basicNack(request.deliveryTag, request.multiple, request.requeue);
          break;
        case 'basic.reject':
          this.#channel.basicReject(request.deliveryTag, request.requeue);
          break;
      }
    } catch (error) {
      this.#rejectUnsent(request, error);
      return;
    }
    this.#resolve(request.id);
  }

  #publish(request: PublishRequest): void {
    let properties: BasicProperties | undefined;
    if (request.properties !== null) {
      try {
        properties = decodePublishProperties(request.properties);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        const invalid = new InvalidArgumentError(`channel handle: basic.publish request: properties are not a valid property block: ${reason}`, 'CHANNEL_HANDLE_REQUEST_INVALID');
        this.#reject(request.id, invalid);
        return;
      }
    }

    let sent: Promise<void>;
    try {
      sent = this.#channel.basicPublish(request.exchange, request.routingKey, request.body, properties, { mandatory: request.mandatory });
    } catch (error) {
      this.#rejectUnsent(request, error);
      return;
    }
    const id = request.id;
    sent.then(
      () => this.#resolve(id),
      (error: unknown) => this.#reject(id, error),
    );
  }

  /**
   * Rejects a request that threw before anything was sent. When the channel has closed, the
   * error keeps the class and code of the channel's close error, and its message names the
   * request and the channel.
   */
  #rejectUnsent(request: ChannelHandleRequest, error: unknown): void {
    if (this.#channel.isOpen || !AmqpError.isInstance(error) || error instanceof InvalidArgumentError) {
      this.#reject(request.id, error);
      return;
    }

    const closeRecord = errorToRecord(error);
    const message = `${describeRequest(request)} was not sent: ${closedChannelReason(this.#channelId, error)}`;
    this.#rejectWithRecord(request.id, { ...closeRecord, message, stack: undefined, cause: closeRecord });
  }

  #resolve(id: number): void {
    this.#resolvedIds.push(id);
    if (this.#resolvedIds.length === 1) setImmediate(() => this.#flushResolved());
  }

  #flushResolved(): void {
    if (this.#resolvedIds.length === 0) return;
    // postMessage copies the array, so it can be emptied and reused right after.
    this.#post({ type: 'resolved', ids: this.#resolvedIds });
    this.#resolvedIds.length = 0;
  }

  #reject(id: number, error: unknown): void {
    this.#rejectWithRecord(id, errorToRecord(error));
  }

  #rejectWithRecord(id: number, record: ErrorRecord): void {
    // Earlier successes go first, so the worker settles its promises in request order.
    this.#flushResolved();
    const transfer: ArrayBuffer[] = [];
    prepareReturnedForTransfer(record, transfer);
    this.#post({ type: 'rejected', id, error: record }, transfer);
  }

  #post(reply: ChannelHandleReply, transfer: ArrayBuffer[] = []): void {
    if (this.#portClosed) return;
    try {
      this.#port.postMessage(reply, transfer);
    } catch (error) {
      // Only a value that structured cloning rejects can get here, so the reply goes again as
      // plain text, which always clones.
      if (reply.type !== 'rejected') return;
      const reason = error instanceof Error ? error.message : String(error);
      const { name, message, code, source } = reply.error;
      const plain: ErrorRecord = { name, message: `${message} (its details could not be sent to the worker: ${reason})` };
      if (code !== undefined) plain.code = code;
      if (source !== undefined) plain.source = source;
      this.#port.postMessage({ type: 'rejected', id: reply.id, error: plain } satisfies ChannelHandleReply);
    }
  }

  #handlePortClose(): void {
    if (this.#portClosed) return;
    this.#portClosed = true;
    this.#resolvedIds.length = 0;
    this.onPortClosed?.();
  }
}

function describeRequest(request: ChannelHandleRequest): string {
  if (request.method === 'basic.publish') {
    return `basic.publish to exchange ${JSON.stringify(request.exchange)} with routing key ${JSON.stringify(request.routingKey)}`;
  }
  return `${request.method} of delivery tag ${request.deliveryTag}`;
}

function closedChannelReason(channelId: number, error: AmqpError): string {
  if (error instanceof ChannelClosedByClientError) return `channel ${channelId} was closed by the client`;
  if (error instanceof ConnectionClosedByClientError) return `channel ${channelId} is closed because the client closed its connection`;
  if (error instanceof ConnectionError) return `channel ${channelId} is closed because its connection ended (${error.message})`;
  return `channel ${channelId} is closed (${error.message})`;
}

/** Returns the record of the error that a handle's pending requests reject with once the connection has closed. */
function connectionClosedRecord(channelId: number, error: AmqpError | undefined): ErrorRecord {
  if (error === undefined) {
    const closedByClient = new ConnectionClosedByClientError(`channel ${channelId} is closed because the client closed its connection`, {
      code: 'CONNECTION_CLOSED',
      source: 'client',
    });
    return { ...errorToRecord(closedByClient), stack: undefined };
  }
  const record = errorToRecord(error);
  return { ...record, message: `channel ${channelId} is closed because its connection ended (${error.message})`, stack: undefined, cause: record };
}
