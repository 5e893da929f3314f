import type { MessagePort } from 'node:worker_threads';
import {
  type AmqpError,
  type BasicProperties,
  ChannelError,
  ConnectionError,
  InvalidArgumentError,
  type Pending,
  encodeBasicPropertiesBytes,
} from '@warren/protocol';
import { loadWorkerThreads } from './builtins.js';
import type { PublishOptions } from './channel.js';
import { rebuildError } from './error-transfer.js';
import { ownedBytes, ownedCopy } from './transferable.js';
import type { ChannelHandleReply, ChannelHandleRequest } from './channel-handle-messages.js';

const ignore = (): void => {};

/**
 * Acknowledges, rejects and publishes on a `Channel` from another thread, such as a
 * `worker_threads` Worker, through the port that `channel.createHandle()` returns.
 *
 * ```ts
 * // On the thread that owns the connection:
 * const handle = channel.createHandle();
 * worker.postMessage({ handle }, [handle]);
 *
 * // In the worker:
 * parentPort.once('message', ({ handle }) => {
 *   const channelHandle = new ChannelHandle(handle);
 *   channelHandle.basicAck(deliveryTag);
 * });
 * ```
 *
 * Each request runs on the connection's thread, in the order this handle sends them, through
 * the `Channel` method of the same name. Its promise resolves once that thread has carried it
 * out, and rejects with an error of the same class and code that the method raises there.
 * Every returned promise has a no-op rejection handler attached, so requests whose promises are
 * ignored, as fire-and-forget acks are, never cause an unhandled rejection.
 *
 * When the channel has closed, a request is not sent. It rejects with the class and code of the
 * channel's close error (`ChannelClosedByBrokerError` with `CHANNEL_CLOSED_BY_BROKER`, or
 * `ChannelClosedByClientError` with `CHANNEL_CLOSED`), and its message names the channel and the
 * delivery tag or exchange and routing key, as in `basic.ack of delivery tag 7 was not sent:
 * channel 3 is closed (queue.declare: NOT_FOUND - no queue 'q' in vhost '/')`.
 *
 * When the connection closes, the connection's thread closes the port. Pending and later
 * requests then reject with a `ConnectionError` with the connection's close code, such as
 * `CONNECTION_CLOSED`. A request that was pending at that moment may or may not have been
 * carried out.
 *
 * The port is unref'd while no request is pending, so a worker that has finished can exit
 * without calling `close()`.
 *
 * At most `MAX_REQUESTS_IN_FLIGHT` requests wait on the connection's thread at a time; later
 * ones wait in this handle, in order. A worker that publishes faster than the connection can
 * send therefore cannot flood that thread and delay everything else it serves.
 */
export class ChannelHandle {
  /** Number of the channel on its connection. */
  readonly channelId: number;
  readonly #port: MessagePort;
  readonly #pending = new Map<number, Pending<void>>();
  /** Requests held back while `MAX_REQUESTS_IN_FLIGHT` are in flight, oldest at `#waitingHead`. */
  #waiting: WaitingRequest[] = [];
  #waitingHead = 0;
  #nextId = 1;
  /** Error that every later request rejects with, set once no request can be sent any more. */
  #closedError: AmqpError | undefined;

  /**
   * @param port the port from `channel.createHandle()`, after it was transferred to this thread.
   *   Construct one handle per port: the constructor reads the port's first message.
   * @throws InvalidArgumentError `CHANNEL_HANDLE_PORT_INVALID` when `port` is not a
   *   `MessagePort`, or its first message is not the one that `createHandle()` queues.
   */
  constructor(port: MessagePort) {
    const { MessagePort: PortClass, receiveMessageOnPort } = loadWorkerThreads();
    if (!(port instanceof PortClass)) {
      throw new InvalidArgumentError(`ChannelHandle: expected the MessagePort from channel.createHandle(), got ${describeType(port)}`, 'CHANNEL_HANDLE_PORT_INVALID');
    }
    const first = receiveMessageOnPort(port)?.message as ChannelHandleReply | undefined;
    if (first?.type !== 'open' || !Number.isSafeInteger(first.channelId)) {
      throw new InvalidArgumentError(
        'ChannelHandle: the port did not start with the channel id that channel.createHandle() sends. ' +
          'Pass a port from createHandle(), and construct only one handle per port.',
        'CHANNEL_HANDLE_PORT_INVALID',
      );
    }

    this.channelId = first.channelId;
    this.#port = port;
    port.on('message', (reply: ChannelHandleReply) => this.#handleReply(reply));
    port.on('close', () => this.#handlePortClose());
    // Adding the listener refs the port, so it is unref'd until a request is pending.
    port.unref();
  }

  /** Number of requests not settled yet: those sent and those held back in this handle. */
  get pendingCount(): number {
    return this.#pending.size + this.#waiting.length - this.#waitingHead;
  }

  /** Acknowledges a message, or with `multiple` every message up to it (`Channel.basicAck`). */
  basicAck(deliveryTag: number, multiple = false): Promise<void> {
    const id = this.#nextId++;
    return this.#send({ method: 'basic.ack', id, deliveryTag, multiple });
  }

  /** Rejects a message, or with `multiple` every message up to it, and by default requeues it (`Channel.basicNack`). */
  basicNack(deliveryTag: number, multiple = false, requeue = true): Promise<void> {
    const id = this.#nextId++;
    return this.#send({ method: 'basic.nack', id, deliveryTag, multiple, requeue });
  }

  /** Rejects one message and by default requeues it (`Channel.basicReject`). */
  basicReject(deliveryTag: number, requeue = true): Promise<void> {
    const id = this.#nextId++;
    return this.#send({ method: 'basic.reject', id, deliveryTag, requeue });
  }

  /**
   * Publishes a message through `Channel.basicPublish`, and settles as its promise does: at
   * once, after the socket drains, or in confirm mode on the broker's ack, rejecting with
   * `NackError` or `UnroutableError`.
   *
   * The body is copied, so the caller may reuse its buffer at once; a string is sent as UTF-8.
   * The properties are encoded here and decoded on the connection's thread, so `Decimal` and
   * `typed()` header values arrive with their exact types.
   *
   * @throws InvalidArgumentError, synchronously and before anything is sent, when the body is
   *   not a `Uint8Array` or a string, or a property or header cannot be encoded.
   */
  basicPublish(
    exchange: string,
    routingKey: string,
    body: Uint8Array | string,
    properties?: BasicProperties,
    options: PublishOptions = {},
  ): Promise<void> {
    const bytes = ownedCopy(body);
    const encodedProperties = properties === undefined ? null : ownedBytes(encodeBasicPropertiesBytes(properties));
    const transfer = encodedProperties === null ? [bytes.buffer] : [bytes.buffer, encodedProperties.buffer];

    const id = this.#nextId++;
    const request: ChannelHandleRequest = {
      method: 'basic.publish',
      id,
      exchange,
      routingKey,
      body: bytes,
      properties: encodedProperties,
      mandatory: options.mandatory ?? false,
    };
    return this.#send(request, transfer);
  }

  /**
   * Releases the port. Pending requests reject with a `ChannelError` `CHANNEL_HANDLE_CLOSED`,
   * although they may still be carried out, and so do later requests. The channel stays open.
   */
  close(): void {
    if (this.#closedError === undefined) {
      this.#closedError = new ChannelError(`the handle of channel ${this.channelId} was closed`, { code: 'CHANNEL_HANDLE_CLOSED', source: 'client' });
    }
    this.#rejectAll(this.#closedError);
    this.#port.close();
  }

  #send(request: ChannelHandleRequest, transfer?: ArrayBuffer[]): Promise<void> {
    const settled = new Promise<void>((resolve, reject) => {
      if (this.#closedError !== undefined) {
        reject(this.#closedError);
        return;
      }
      if (this.#pending.size >= MAX_REQUESTS_IN_FLIGHT || this.#waitingHead < this.#waiting.length) {
        this.#waiting.push({ request, transfer, pending: { resolve, reject } });
        return;
      }
      // A request that cannot be cloned throws here, before it is registered as pending.
      this.#post(request, transfer, { resolve, reject });
    });
    settled.catch(ignore);
    return settled;
  }

  #post(request: ChannelHandleRequest, transfer: ArrayBuffer[] | undefined, pending: Pending<void>): void {
    this.#port.postMessage(request, transfer);
    if (this.#pending.size === 0) this.#port.ref();
    this.#pending.set(request.id, pending);
  }

  /** Sends held-back requests while fewer than `MAX_REQUESTS_IN_FLIGHT` are in flight. */
  #sendWaiting(): void {
    while (this.#pending.size < MAX_REQUESTS_IN_FLIGHT && this.#waitingHead < this.#waiting.length) {
      const next = this.#waiting[this.#waitingHead]!;
      this.#waiting[this.#waitingHead] = undefined as never;
      this.#waitingHead++;
      try {
        this.#post(next.request, next.transfer, next.pending);
      } catch (error) {
        next.pending.reject(error as AmqpError);
      }
    }
    if (this.#waitingHead === this.#waiting.length) {
      this.#waiting = [];
      this.#waitingHead = 0;
    }
  }

  #handleReply(reply: ChannelHandleReply): void {
    // Only the dispatcher writes to this port, but a stray message must not throw in the worker.
    if (typeof reply !== 'object' || reply === null) return;
    switch (reply.type) {
      case 'resolved':
        if (!Array.isArray(reply.ids)) return;
        for (const id of reply.ids) this.#take(id)?.resolve();
        this.#sendWaiting();
        break;
      case 'rejected':
        if (typeof reply.error !== 'object' || reply.error === null) return;
        this.#take(reply.id)?.reject(rebuildError(reply.error));
        this.#sendWaiting();
        break;
      case 'closed':
        if (typeof reply.error !== 'object' || reply.error === null) return;
        this.#closedError ??= rebuildError(reply.error);
        break;
    }
  }

  /** Removes and returns the pending request with `id`; unrefs the port when none is left. */
  #take(id: number): Pending<void> | undefined {
    const pending = this.#pending.get(id);
    if (pending === undefined) return undefined;
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#port.unref();
    return pending;
  }

  #handlePortClose(): void {
    this.#closedError ??= new ConnectionError(
      `the port of the handle of channel ${this.channelId} closed without a reason from the connection's thread, which may have ended`,
      { code: 'CHANNEL_HANDLE_DISCONNECTED', source: 'client' },
    );
    this.#rejectAll(this.#closedError);
  }

  #rejectAll(error: AmqpError): void {
    const pending = [...this.#pending.values()];
    for (let index = this.#waitingHead; index < this.#waiting.length; index++) pending.push(this.#waiting[index]!.pending);
    this.#pending.clear();
    this.#waiting = [];
    this.#waitingHead = 0;
    this.#port.unref();
    for (const request of pending) request.reject(error);
  }
}

/** Most requests of one handle that wait on the connection's thread at a time. */
const MAX_REQUESTS_IN_FLIGHT = 1000;

interface WaitingRequest {
  request: ChannelHandleRequest;
  transfer: ArrayBuffer[] | undefined;
  pending: Pending<void>;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}
