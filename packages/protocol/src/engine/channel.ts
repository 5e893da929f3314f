import { Reader } from '../codec/reader.js';
import type { Writer } from '../codec/writer.js';
import { encodeContentFrames, encodeMethodFrame } from '../codec/frame-encoder.js';
import type { Frame } from '../codec/frame-decoder.js';
import {
  AmqpError,
  ChannelClosedByBrokerError,
  ChannelClosedByClientError,
  ChannelError,
  FrameError,
  NackError,
  UnroutableError,
} from '../errors.js';
import { FrameType, ReplyCode } from '../generated/constants.js';
import {
  type AnyMethod,
  BasicAck,
  BasicCancel,
  BasicCancelOk,
  BasicConsume,
  type BasicConsumeOk,
  BasicGet,
  BasicNack,
  BasicPublish,
  BasicReject,
  ChannelClose,
  ChannelCloseOk,
  ChannelFlowOk,
  ChannelOpen,
  ConfirmSelect,
  MethodId,
  decodeMethod,
  methodName,
} from '../generated/methods.js';
import { type BasicProperties, type DecodedBasicProperties, readBasicProperties } from '../generated/properties.js';
import { failedMethodPrefix } from './close-reason.js';
import type { Message, ReturnedMessage } from './message.js';
import { validateDeliveryMode } from './publish-rules.js';

/** Callbacks of a request that the broker replies to, such as `queue.declare`. */
export interface Pending<T> {
  resolve(value: T): void;
  reject(error: AmqpError): void;
}

/** Receives the messages and the cancellation of one consumer. */
export interface ConsumerHandler {
  onMessage(message: Message): void;
  /** Called when the broker cancels the consumer, for example because its queue was deleted. */
  onCancel?(): void;
}

/** Receives what happens on a channel outside of any request. */
export interface ChannelHandler {
  /** Called once when the channel closes; `error` is undefined for a close that the client asked for. */
  onClose?(error: AmqpError | undefined): void;
  /** Called for each message that the broker returns as unroutable. */
  onReturn?(message: ReturnedMessage): void;
  /** Called for each publisher confirm (`basic.ack` or `basic.nack` from the broker). */
  onConfirm?(deliveryTag: number, multiple: boolean, acknowledged: boolean): void;
  /** Called when the broker pauses (`false`) or resumes (`true`) publishing with `channel.flow`. */
  onFlow?(active: boolean): void;
}

/** The services of the connection that a channel uses. */
export interface ChannelHost {
  readonly writer: Writer;
  readonly frameMax: number;
  /** Largest message body the connection accepts, in bytes. */
  readonly maxMessageSize: number;
  send(chunk: Uint8Array): void;
  /** Frees the channel id; called after the channel's `close-ok` has been sent or received. */
  release(channel: ChannelEngine): void;
  /** Ends the connection because the broker broke the protocol. */
  fail(error: AmqpError): void;
  /** Whether the broker has blocked publishing on the connection (`connection.blocked`). */
  readonly blocked: boolean;
  /** Returns received bytes as they are, or a copy when the adapter reuses the memory they view. */
  keepReceived(bytes: Uint8Array): Uint8Array;
}

type ChannelState = 'opening' | 'open' | 'closing' | 'closed';

/** A request in the channel's queue, or frames waiting behind a request that has not been sent. */
interface QueueEntry {
  chunks: Uint8Array[];
  /** Ids of the methods that reply to this request; empty for frames that expect no reply. */
  responses: readonly number[];
  methodId: number;
  pending: Pending<never> | undefined;
  /** Handles the reply and returns the value that resolves `pending`. */
  complete: ((response: AnyMethod) => unknown) | undefined;
}

/**
 * A message being assembled from its method, content header and body frames. Each channel keeps
 * one and reuses it for every message, so that a delivery allocates no assembly state.
 */
class IncomingContent {
  /** The method that announced the content, or undefined while no message is being assembled. */
  method: AnyMethod | undefined = undefined;
  properties: DecodedBasicProperties | undefined = undefined;
  bodySize = 0;
  /**
   * Body frame payloads received so far of a body over `EAGER_BODY_LIMIT`, kept until a quarter
   * of it has arrived. Only then is the whole body allocated, so a broker that announces a huge
   * body but sends little makes the client hold at most four times what it sent.
   */
  parts: Uint8Array[] = [];
  /**
   * The body being assembled: allocated with the first body frame, or for a body over
   * `EAGER_BODY_LIMIT` once a quarter of it has arrived.
   */
  body: Uint8Array | undefined = undefined;
  received = 0;

  start(method: AnyMethod): void {
    this.method = method;
    this.properties = undefined;
    this.bodySize = 0;
    this.body = undefined;
    this.received = 0;
  }

  /**
   * Allocates the body, with the parts received so far, when a frame that ends at byte `end` of
   * the body calls for it. A body up to `EAGER_BODY_LIMIT` is allocated with its first frame,
   * and a larger one once that frame brings a quarter of it. Returns whether the body exists.
   * @throws FrameError `MESSAGE_TOO_LARGE` when the body cannot be allocated.
   */
  allocateBody(end: number): boolean {
    if (this.body !== undefined) return true;
    if (this.bodySize > EAGER_BODY_LIMIT && end * 4 < this.bodySize) return false;
    this.body = joinParts(this.parts, this.bodySize);
    this.parts = [];
    return true;
  }

  /** Ends the message in progress and drops its references to received bytes. */
  clear(): void {
    this.method = undefined;
    this.properties = undefined;
    this.body = undefined;
    if (this.parts.length > 0) this.parts = [];
  }
}

const EMPTY_BODY = new Uint8Array(0);
/**
 * Largest body allocated whole when its first body frame arrives. Operating systems commit the
 * pages of a large allocation as they are written, so until the body arrives this costs address
 * space rather than memory. Allocating early lets each frame go straight into place, and lets
 * the garbage collector see the body as short-lived when the application drops it soon.
 */
const EAGER_BODY_LIMIT = 64 * 1024 * 1024;
const NO_RESPONSES: readonly number[] = [];

/**
 * The state of one AMQP channel, without I/O.
 *
 * How it works: a request that the broker replies to is sent only when no other request on the
 * channel awaits its reply, so at most one synchronous request is outstanding (spec 0-9-1,
 * 4.2.6). Later requests wait in a queue. Frames that expect no reply, such as publishes and
 * acks, are sent at once unless requests are waiting in that queue. In that case they wait
 * behind those requests, so the broker receives every method in the order the caller issued it.
 * Incoming `basic.deliver`, `basic.return` and `basic.get-ok` are assembled from their header and
 * body frames before they are handed on.
 */
export class ChannelEngine {
  readonly id: number;
  #state: ChannelState = 'opening';
  #host: ChannelHost;
  #handler: ChannelHandler;
  /** The request on the wire, waiting for its reply. */
  #awaiting: QueueEntry | undefined;
  /** Entries not yet sent, in call order. */
  #queue: QueueEntry[] = [];
  /** Closes that wait for the `close-ok` of a close already under way. */
  #closeWaiters: Pending<void>[] = [];
  #awaitingStrayCloseOk = false;
  #consumers = new Map<string, ConsumerHandler>();
  readonly #content = new IncomingContent();
  #closeError: AmqpError | undefined;
  #flowActive = true;
  #confirmMode = false;
  /** Sequence number of the last publish in confirm mode; the broker numbers them from 1. */
  #publishSeqNo = 0;
  /** Publishes in confirm mode that the broker has not yet acked or nacked, by sequence number. */
  #unconfirmed = new Map<number, Pending<void> | undefined>();
  /** Callers of `waitForConfirms`, each waiting for the publishes up to `upTo`. */
  #confirmWaiters: { upTo: number; pending: Pending<void>; error: AmqpError | undefined }[] = [];
  /** Mandatory publishes in confirm mode that are not yet confirmed, for matching returns to them. */
  #mandatory = new Map<number, { exchange: string; routingKey: string; body: Uint8Array }>();
  /** Messages returned in confirm mode, waiting for the ack that covers each of them. */
  #pendingReturns: ReturnedMessage[] = [];
  /** The first failure among the publishes made after the last `waitForConfirms` call. */
  #failedSinceWait: AmqpError | undefined;
  /** Sequence number of the last publish that an earlier `waitForConfirms` call covered. */
  #lastWaitUpTo = 0;
  /**
   * Publishes held while the broker blocks the connection or pauses the channel with flow, and
   * the requests issued after them, which wait too so that they cannot overtake the publishes.
   */
  #held: QueueEntry[] = [];

  constructor(id: number, host: ChannelHost, handler: ChannelHandler) {
    this.id = id;
    this.#host = host;
    this.#handler = handler;
  }

  get state(): ChannelState {
    return this.#state;
  }

  /** Whether the channel is in publisher confirm mode (`confirm.select`). */
  get confirmMode(): boolean {
    return this.#confirmMode;
  }

  /** Whether a publish now would be held back, because the connection is blocked or flow paused the channel. */
  get publishingPaused(): boolean {
    return this.#held.length > 0 || this.#host.blocked || !this.#flowActive;
  }

  /** Whether the broker allows publishing on this channel (`channel.flow`). */
  get flowActive(): boolean {
    return this.#flowActive;
  }

  /** The error that closed the channel, once it is closed or closing. */
  get closeError(): AmqpError | undefined {
    return this.#closeError;
  }

  /** Sends `channel.open`; `pending` resolves once the broker replies with `channel.open-ok`. */
  open(pending: Pending<void>): void {
    this.#enqueue(new ChannelOpen(), ChannelOpen.id, ChannelOpen.responses, pending, () => {
      this.#state = 'open';
    });
  }

  /**
   * Sends a method that the broker replies to and resolves `pending` with the reply. With the
   * method's no-wait flag set, no reply comes, so `pending` resolves once the frame is sent.
   */
  request<T extends AnyMethod>(method: AnyMethod, pending: Pending<T>): void {
    this.#assertUsable();
    const info = method.constructor as unknown as { id: number; responses: readonly number[] };
    const flags = method as { noWait?: boolean; nowait?: boolean };
    const noWait = flags.noWait === true || flags.nowait === true;
    this.#enqueue(method, info.id, noWait ? NO_RESPONSES : info.responses, pending, (response) => response);
  }

  /**
   * Publishes a message. The body is framed as views of `body`, which must not change until the
   * frames are written.
   */
  publish(
    exchange: string,
    routingKey: string,
    body: Uint8Array,
    properties: BasicProperties,
    mandatory: boolean,
    immediate: boolean,
    pending?: Pending<void>,
  ): void {
    this.#assertUsable();
    validateDeliveryMode(properties);
    const chunks: Uint8Array[] = [];
    encodeContentFrames(
      this.#host.writer,
      this.id,
      new BasicPublish(exchange, routingKey, mandatory, immediate),
      BasicPublish.classId,
      properties,
      body,
      this.#host.frameMax,
      chunks,
    );

    // In confirm mode `pending` settles on the broker's ack or nack; otherwise once the frames
    // are handed to the transport.
    let sent = pending;
    if (this.#confirmMode) {
      const seqNo = ++this.#publishSeqNo;
      this.#unconfirmed.set(seqNo, pending);
      if (mandatory) this.#mandatory.set(seqNo, { exchange, routingKey, body });
      sent = undefined;
    }
    if (this.publishingPaused) {
      this.#held.push(sendEntry(chunks, MethodId.BasicPublish, sent));
      return;
    }
    this.#sendOrQueue(chunks, MethodId.BasicPublish, sent);
  }

  /**
   * Puts the channel in publisher confirm mode (`confirm.select`). From then on, the `pending` of
   * each publish resolves on the broker's ack and rejects with `NackError` on a nack, or with
   * `UnroutableError` when the broker returned the message as unroutable.
   */
  confirmSelect(pending: Pending<void>): void {
    this.#assertUsable();
    this.#enqueue(new ConfirmSelect(false), ConfirmSelect.id, ConfirmSelect.responses, pending, () => undefined);
    // The broker numbers the publishes that follow confirm.select, and nothing overtakes the
    // select on the wire, so counting starts now rather than at select-ok.
    this.#confirmMode = true;
  }

  /**
   * Resolves `pending` once every publish made so far in confirm mode is confirmed. Rejects it
   * with the first `NackError` or `UnroutableError` among the publishes made since the previous
   * call, including any that failed before this call.
   */
  waitForConfirms(pending: Pending<void>): void {
    this.#assertUsable();
    if (!this.#confirmMode) {
      throw new ChannelError(`channel ${this.id} is not in confirm mode; call confirmSelect first`, {
        code: 'CONFIRM_MODE_REQUIRED',
        source: 'client',
      });
    }
    const waiter = { upTo: this.#publishSeqNo, pending, error: this.#failedSinceWait };
    this.#failedSinceWait = undefined;
    this.#lastWaitUpTo = this.#publishSeqNo;
    this.#confirmWaiters.push(waiter);
    this.#settleConfirmWaiters();
  }

  /** Sends the held publishes, in order, once the broker allows publishing again. */
  resumePublishing(): void {
    if (this.#held.length === 0 || this.#host.blocked || !this.#flowActive) return;
    if (this.#state === 'closing' || this.#state === 'closed') return;
    // A spread into push() would overflow the stack for a few hundred thousand held publishes.
    this.#queue = this.#queue.concat(this.#held);
    this.#held = [];
    this.#pump();
  }

  /** Sends a method that gets no reply from the broker, such as `basic.recover-async`. */
  send(method: AnyMethod): void {
    this.#assertUsable();
    const info = method.constructor as unknown as { id: number };
    this.#sendOrQueue([this.#encode(method)], info.id);
  }

  /** Starts a consumer; `pending` resolves with the consumer tag once the broker confirms it. */
  consume(method: BasicConsume, handler: ConsumerHandler, pending: Pending<string>): void {
    this.#assertUsable();
    if (!method.noWait) {
      this.#enqueue(method, BasicConsume.id, BasicConsume.responses, pending, (response) => {
        const tag = (response as BasicConsumeOk).consumerTag;
        this.#consumers.set(tag, handler);
        return tag;
      });
      return;
    }

    // With no-wait the broker sends no consume-ok, so the consumer is registered now.
    const tag = method.consumerTag;
    if (tag === '') {
      throw new ChannelError('basic.consume with noWait needs an explicit consumer tag', {
        code: 'CONSUMER_TAG_REQUIRED',
        source: 'client',
      });
    }
    this.#consumers.set(tag, handler);
    const sent: Pending<void> = { resolve: () => pending.resolve(tag), reject: (error) => pending.reject(error) };
    this.#enqueue(method, BasicConsume.id, NO_RESPONSES, sent, () => undefined);
  }

  /** Cancels a consumer; its handler receives no message after `pending` resolves. */
  cancel(consumerTag: string, pending: Pending<void>): void {
    this.#assertUsable();
    this.#enqueue(new BasicCancel(consumerTag, false), BasicCancel.id, BasicCancel.responses, pending, () => {
      this.#consumers.delete(consumerTag);
    });
  }

  /** Fetches one message; `pending` resolves with it, or with null when the queue is empty. */
  get(method: BasicGet, pending: Pending<Message | null>): void {
    this.#assertUsable();
    // A get-ok completes the request only once its content has arrived; see #completeContent.
    this.#enqueue(method, BasicGet.id, BasicGet.responses, pending, () => null);
  }

  ack(deliveryTag: number, multiple: boolean): void {
    this.#assertUsable();
    this.#sendOrQueue([this.#encode(new BasicAck(deliveryTag, multiple))], MethodId.BasicAck);
  }

  nack(deliveryTag: number, multiple: boolean, requeue: boolean): void {
    this.#assertUsable();
    this.#sendOrQueue([this.#encode(new BasicNack(deliveryTag, multiple, requeue))], MethodId.BasicNack);
  }

  reject(deliveryTag: number, requeue: boolean): void {
    this.#assertUsable();
    this.#sendOrQueue([this.#encode(new BasicReject(deliveryTag, requeue))], MethodId.BasicReject);
  }

  /**
   * Closes the channel. Requests still waiting reject with a `CHANNEL_CLOSED` error, and
   * `pending` resolves once the broker replies with `channel.close-ok`.
   */
  close(pending: Pending<void>): void {
    if (this.#state === 'closed') {
      pending.resolve();
      return;
    }
    if (this.#state === 'closing') {
      this.#closeWaiters.push(pending);
      return;
    }

    const error = new ChannelClosedByClientError(`channel ${this.id} was closed by the client`, {
      code: 'CHANNEL_CLOSED',
      source: 'client',
      replyCode: ReplyCode.replySuccess,
    });
    this.#state = 'closing';
    this.#closeError = error;
    // The rest of a delivery under way will be discarded, so forget its start too.
    this.#content.clear();
    // The spec lets a peer discard what arrives after it sent close, so requests without a
    // reply yet can no longer complete.
    this.#rejectQueue(error);
    this.#rejectHeld(error);
    this.#closeWaiters.push(pending);
    this.#host.send(this.#encode(new ChannelClose(ReplyCode.replySuccess, 'Goodbye', 0, 0)));
  }

  /** Handles a frame addressed to this channel. */
  handleFrame(frame: Frame): void {
    this.receiveFrame(frame.type, new Reader(frame.payload));
  }

  /**
   * Handles a frame addressed to this channel whose payload `payload` reads, from its `offset` to
   * its `end`. The connection passes one reader for all frames, so that a frame needs neither a
   * frame object nor a view of its payload. Every byte this call needs is read before any
   * handler runs, so the caller may reuse the reader once it returns or a handler calls back.
   */
  receiveFrame(type: number, payload: Reader): void {
    if (this.#state === 'closed') {
      this.#handleFrameAfterClose(type, payload);
      return;
    }
    // After sending channel.close the spec has the client discard everything but close and
    // close-ok, which includes the header and body of a delivery already under way.
    if (this.#state === 'closing' && type !== FrameType.method) return;

    if (type === FrameType.method) {
      this.#handleMethod(decodeMethod(payload));
    } else if (type === FrameType.header) {
      this.#handleHeader(payload);
    } else if (type === FrameType.body) {
      // `subarray` keeps the class of the received chunk, so an adapter that pushes Node.js
      // Buffers gets a body frame that lies in one chunk as a Buffer and need not wrap it again.
      this.#handleBody(payload.bytes.subarray(payload.offset, payload.end));
    } else {
      throw unexpectedFrame(`frame of type ${type} on channel ${this.id}`);
    }
  }

  /**
   * Returns the part of the message body being assembled that the next body frame, of `size`
   * bytes, fills, so that the frame decoder can copy a frame that straddles received chunks
   * straight into the body. Returns undefined when that frame does not go into an allocated body.
   * That is the case when no body is under way, when the frame is a whole body on its own, or
   * when a huge body still lacks a quarter of its bytes. It is also the case when the frame
   * overruns the body, which `receiveFrame` then reports.
   * @throws FrameError `MESSAGE_TOO_LARGE` when the body cannot be allocated.
   */
  bodyTarget(size: number): Uint8Array | undefined {
    const content = this.#content;
    if (this.#state === 'closing' || this.#state === 'closed' || content.properties === undefined) return undefined;
    const start = content.received;
    const end = start + size;
    if (end > content.bodySize || (start === 0 && end === content.bodySize)) return undefined;
    if (!content.allocateBody(end)) return undefined;
    return content.body!.subarray(start, end);
  }

  /** Ends the channel because its connection ended; every waiting request rejects with `error`. */
  connectionClosed(error: AmqpError): void {
    if (this.#state === 'closed') return;
    this.#finish(error, error);
  }

  #handleMethod(method: AnyMethod): void {
    if (this.#content.method !== undefined) {
      throw unexpectedFrame(`${methodName(method.id)} on channel ${this.id} while a message body was expected`);
    }

    // After sending channel.close the spec has the client discard everything but close and close-ok.
    if (this.#state === 'closing' && method.id !== MethodId.ChannelClose && method.id !== MethodId.ChannelCloseOk) {
      return;
    }

    switch (method.id) {
      case MethodId.BasicDeliver:
      case MethodId.BasicReturn:
      case MethodId.BasicGetOk:
        this.#content.start(method);
        return;
      case MethodId.BasicAck:
        this.#handleConfirm(method.deliveryTag, method.multiple, true);
        return;
      case MethodId.BasicNack:
        this.#handleConfirm(method.deliveryTag, method.multiple, false);
        return;
      case MethodId.BasicCancel:
        this.#handleBrokerCancel(method.consumerTag, method.noWait);
        return;
      case MethodId.ChannelFlow:
        this.#flowActive = method.active;
        this.#host.send(this.#encode(new ChannelFlowOk(method.active)));
        this.#handler.onFlow?.(method.active);
        if (method.active) this.resumePublishing();
        return;
      case MethodId.ChannelClose:
        this.#handleBrokerClose(method);
        return;
      case MethodId.ChannelCloseOk:
        this.#handleCloseOk();
        return;
      default:
        this.#handleResponse(method);
    }
  }

  /**
   * Completes the request at the head of the queue with its answer. `value` resolves the
   * request when given; otherwise the request's own completion computes it from the answer.
   */
  #handleResponse(method: AnyMethod, value?: unknown): void {
    const head = this.#awaiting;
    if (head === undefined || !head.responses.includes(method.id)) {
      const waiting = head ? ` while waiting for the answer to ${methodName(head.methodId)}` : '';
      throw new FrameError(
        `unexpected ${methodName(method.id)} on channel ${this.id}${waiting}`,
        'METHOD_UNEXPECTED',
        ReplyCode.commandInvalid,
      );
    }

    this.#awaiting = undefined;
    const result = value === undefined ? head.complete?.(method) : value;
    head.pending?.resolve(result as never);
    this.#pump();
  }

  #handleHeader(reader: Reader): void {
    const content = this.#content;
    if (content.method === undefined || content.properties !== undefined) {
      throw unexpectedFrame(`content header on channel ${this.id} without a method that carries content`);
    }

    const classId = reader.uint16();
    reader.uint16(); // weight, unused in 0-9-1
    const bodySize = reader.uint64Number();
    if (classId !== 60) {
      throw unexpectedFrame(`content header of class ${classId} on channel ${this.id}; only basic (60) carries content`);
    }
    if (bodySize > this.#host.maxMessageSize) {
      throw new FrameError(
        `message body of ${bodySize} bytes on channel ${this.id} exceeds the limit of ${this.#host.maxMessageSize} bytes`,
        'MESSAGE_TOO_LARGE',
        ReplyCode.frameError,
      );
    }

    content.properties = readBasicProperties(reader);
    content.bodySize = bodySize;
    if (bodySize === 0) this.#completeContent(content, EMPTY_BODY);
  }

  #handleBody(payload: Uint8Array): void {
    const content = this.#content;
    if (content.method === undefined || content.properties === undefined) {
      throw unexpectedFrame(`content body on channel ${this.id} without a content header`);
    }
    const received = content.received + payload.length;
    if (received > content.bodySize) {
      throw unexpectedFrame(`content body on channel ${this.id} exceeds the announced size of ${content.bodySize} bytes`);
    }

    // A body in one frame is handed on as a view, or as a copy when the adapter reuses the chunk.
    // A larger body is copied once into its own buffer.
    if (received === content.bodySize && content.received === 0) {
      this.#completeContent(content, this.#host.keepReceived(payload));
      return;
    }
    if (content.allocateBody(received)) {
      const body = content.body!;
      // The decoder already wrote a payload that straddled chunks into the view from `bodyTarget`.
      if (payload.buffer !== body.buffer || payload.byteOffset !== body.byteOffset + content.received) {
        body.set(payload, content.received);
      }
    } else {
      content.parts.push(this.#host.keepReceived(payload));
    }
    content.received = received;
    if (received === content.bodySize) this.#completeContent(content, content.body!);
  }

  #completeContent(content: IncomingContent, body: Uint8Array): void {
    const method = content.method!;
    const properties = content.properties!;
    content.clear();

    if (method.id === MethodId.BasicDeliver) {
      const consumer = this.#consumers.get(method.consumerTag);
      // The broker sends no delivery for a tag after its cancel-ok, and the consumer stays
      // registered until then. NOTE: a delivery for an unknown tag is dropped unacknowledged;
      // the broker requeues it when the channel closes.
      consumer?.onMessage({
        body,
        properties,
        deliveryTag: method.deliveryTag,
        redelivered: method.redelivered,
        exchange: method.exchange,
        routingKey: method.routingKey,
        consumerTag: method.consumerTag,
      });
    } else if (method.id === MethodId.BasicGetOk) {
      const message: Message = {
        body,
        properties,
        deliveryTag: method.deliveryTag,
        redelivered: method.redelivered,
        exchange: method.exchange,
        routingKey: method.routingKey,
        messageCount: method.messageCount,
      };
      this.#handleResponse(method, message);
    } else if (method.id === MethodId.BasicReturn) {
      const returned: ReturnedMessage = {
        body,
        properties,
        replyCode: method.replyCode,
        replyText: method.replyText,
        exchange: method.exchange,
        routingKey: method.routingKey,
      };
      // RabbitMQ sends basic.return right before the ack of the same message, so the tag of
      // that ack identifies the returned publish.
      if (this.#confirmMode) this.#pendingReturns.push(returned);
      this.#handler.onReturn?.(returned);
    }
  }

  /** Settles the publishes that a `basic.ack` or `basic.nack` from the broker covers. */
  #handleConfirm(deliveryTag: number, multiple: boolean, acknowledged: boolean): void {
    this.#handler.onConfirm?.(deliveryTag, multiple, acknowledged);
    if (!multiple) {
      this.#settleConfirm(deliveryTag, acknowledged);
    } else {
      // Map iteration follows insertion, which is ascending sequence order.
      for (const seqNo of this.#unconfirmed.keys()) {
        if (seqNo > deliveryTag) break;
        this.#settleConfirm(seqNo, acknowledged);
      }
    }
    // A return that no publish claimed cannot be matched once nothing is outstanding.
    if (this.#unconfirmed.size === 0) this.#pendingReturns = [];
    this.#settleConfirmWaiters();
  }

  /**
   * Finds the return that belongs to a mandatory publish being confirmed. RabbitMQ sends
   * `basic.return` before the ack that covers the returned message, but acks for earlier
   * messages may come in between, so a return is matched by its exchange, routing key and body.
   * Two returns can be confused only for messages that are alike in all three.
   */
  #takeReturn(seqNo: number): ReturnedMessage | undefined {
    const published = this.#mandatory.get(seqNo);
    if (published === undefined) return undefined;
    this.#mandatory.delete(seqNo);
    const index = this.#pendingReturns.findIndex(
      (returned) =>
        returned.exchange === published.exchange &&
        returned.routingKey === published.routingKey &&
        bytesEqual(returned.body, published.body),
    );
    if (index === -1) return undefined;
    return this.#pendingReturns.splice(index, 1)[0];
  }

  #settleConfirm(seqNo: number, acknowledged: boolean): void {
    if (!this.#unconfirmed.has(seqNo)) return;
    const pending = this.#unconfirmed.get(seqNo);
    this.#unconfirmed.delete(seqNo);
    const returned = this.#takeReturn(seqNo);

    let error: AmqpError | undefined;
    if (!acknowledged) {
      error = new NackError(`the broker rejected message ${seqNo} published on channel ${this.id} (basic.nack)`, {
        code: 'MESSAGE_NACKED',
        source: 'broker',
        retryable: true,
      });
    } else if (returned !== undefined) {
      error = new UnroutableError(
        `message ${seqNo} published on channel ${this.id} to exchange "${returned.exchange}" with routing key "${returned.routingKey}" was returned: ${returned.replyCode} ${returned.replyText}`,
        { code: 'MESSAGE_UNROUTABLE', source: 'broker', replyCode: returned.replyCode, replyText: returned.replyText, returned },
      );
    }

    if (error === undefined) {
      pending?.resolve();
      return;
    }
    pending?.reject(error);
    // A publish that an earlier call covered has reported its failure there already.
    if (seqNo > this.#lastWaitUpTo) this.#failedSinceWait ??= error;
    for (const waiter of this.#confirmWaiters) {
      if (waiter.upTo >= seqNo) waiter.error ??= error;
    }
  }

  /** Settles each `waitForConfirms` caller whose publishes are all confirmed. */
  #settleConfirmWaiters(): void {
    if (this.#confirmWaiters.length === 0) return;
    const oldest = this.#unconfirmed.keys().next();
    const lowestUnconfirmed = oldest.done ? Infinity : oldest.value;
    this.#confirmWaiters = this.#confirmWaiters.filter((waiter) => {
      if (waiter.upTo >= lowestUnconfirmed) return true;
      if (waiter.error === undefined) waiter.pending.resolve();
      else waiter.pending.reject(waiter.error);
      return false;
    });
  }

  #handleBrokerCancel(consumerTag: string, noWait: boolean): void {
    const consumer = this.#consumers.get(consumerTag);
    this.#consumers.delete(consumerTag);
    if (!noWait) this.#host.send(this.#encode(new BasicCancelOk(consumerTag)));
    consumer?.onCancel?.();
  }

  #handleBrokerClose(method: Extract<AnyMethod, { id: typeof MethodId.ChannelClose }>): void {
    this.#host.send(this.#encode(new ChannelCloseOk()));
    // When both sides sent close at once, RabbitMQ still answers the client's close with
    // close-ok, so the id stays reserved until that arrives.
    this.#awaitingStrayCloseOk = this.#state === 'closing';
    const failed = failedMethodPrefix(method);
    const error = new ChannelClosedByBrokerError(`${failed}${method.replyText}`, {
      code: 'CHANNEL_CLOSED_BY_BROKER',
      source: 'broker',
      replyCode: method.replyCode,
      replyText: method.replyText,
      classId: method.classId,
      methodId: method.methodId,
    });
    const ownClose = this.#state === 'closing' ? this.#closeError : undefined;
    this.#finish(ownClose ?? error, error);
  }

  /**
   * Handles a frame for a channel that is closed but whose id is still reserved: only the
   * close-ok that answers a close which crossed the broker's own close can arrive, and it frees
   * the id. Anything else the spec lets the client discard.
   */
  #handleFrameAfterClose(type: number, payload: Reader): void {
    if (!this.#awaitingStrayCloseOk || type !== FrameType.method) return;
    if (decodeMethod(payload).id !== MethodId.ChannelCloseOk) return;
    this.#awaitingStrayCloseOk = false;
    this.#host.release(this);
  }

  #handleCloseOk(): void {
    if (this.#state !== 'closing') {
      throw new FrameError(`unexpected channel.close-ok on channel ${this.id}`, 'METHOD_UNEXPECTED', ReplyCode.commandInvalid);
    }
    this.#finish(this.#closeError!, undefined);
  }

  /**
   * Marks the channel closed, rejects waiting requests with `error`, resolves waiting closes,
   * and reports `reported` (undefined for a close the client asked for) to the handler.
   */
  #finish(error: AmqpError, reported: AmqpError | undefined): void {
    this.#state = 'closed';
    this.#closeError ??= error;
    this.#content.clear();
    this.#rejectQueue(error);
    this.#rejectPublishes(error);
    const closeWaiters = this.#closeWaiters;
    this.#closeWaiters = [];
    for (const pending of closeWaiters) pending.resolve();
    this.#consumers.clear();
    if (!this.#awaitingStrayCloseOk) this.#host.release(this);
    this.#handler.onClose?.(reported);
  }

  /** Rejects publishes that can no longer be sent or confirmed, and their waiters. */
  #rejectPublishes(error: AmqpError): void {
    const held = this.#held;
    const unconfirmed = this.#unconfirmed;
    const waiters = this.#confirmWaiters;
    this.#held = [];
    this.#unconfirmed = new Map();
    this.#mandatory.clear();
    this.#pendingReturns = [];
    this.#confirmWaiters = [];
    for (const entry of held) entry.pending?.reject(error);
    for (const pending of unconfirmed.values()) pending?.reject(error);
    for (const waiter of waiters) waiter.pending.reject(error);
  }

  #rejectHeld(error: AmqpError): void {
    const held = this.#held;
    this.#held = [];
    for (const entry of held) entry.pending?.reject(error);
  }

  #rejectQueue(error: AmqpError): void {
    const entries = this.#awaiting === undefined ? this.#queue : [this.#awaiting, ...this.#queue];
    this.#awaiting = undefined;
    this.#queue = [];
    for (const entry of entries) entry.pending?.reject(error);
  }

  #enqueue(
    method: AnyMethod,
    methodId: number,
    responses: readonly number[],
    pending: Pending<never> | Pending<any>,
    complete: (response: AnyMethod) => unknown,
  ): void {
    const chunk = this.#encode(method);
    const entry: QueueEntry = { chunks: [chunk], responses, methodId, pending, complete };
    if (this.#held.length > 0) {
      this.#held.push(entry);
      return;
    }
    this.#queue.push(entry);
    this.#pump();
  }

  /**
   * Sends frames that expect no reply, or queues them while a request awaits its reply or waits
   * to be sent. `pending` resolves once they are sent. Waiting behind a request on the wire
   * matters for `tx.commit`, because RabbitMQ closes the connection on any other method that
   * arrives before it replies.
   */
  #sendOrQueue(chunks: Uint8Array[], methodId: number, pending?: Pending<void>): void {
    if (this.#queue.length === 0 && this.#awaiting === undefined) {
      for (const chunk of chunks) this.#host.send(chunk);
      pending?.resolve();
      return;
    }
    this.#queue.push(sendEntry(chunks, methodId, pending));
  }

  /** Sends queued entries in order until one awaits its reply. */
  #pump(): void {
    // Entries are removed in one splice at the end, because a shift() per entry copies the rest
    // of the queue each time once it is large, as after a long memory alarm.
    const queue = this.#queue;
    let sent = 0;
    while (sent < queue.length && this.#awaiting === undefined) {
      const head = queue[sent]!;
      const expectsAnswer = head.responses.length > 0;

      sent++;
      for (const chunk of head.chunks) this.#host.send(chunk);
      if (expectsAnswer) this.#awaiting = head;
      else head.pending?.resolve(undefined as never);
    }
    if (sent > 0 && this.#queue === queue) queue.splice(0, sent);
  }

  #encode(method: AnyMethod): Uint8Array {
    return encodeMethodFrame(this.#host.writer, this.id, method, this.#host.frameMax);
  }

  #assertUsable(): void {
    if (this.#state === 'open' || this.#state === 'opening') return;
    throw this.#closeError ?? new ChannelError(`channel ${this.id} is closed`, { code: 'CHANNEL_CLOSED', source: 'client' });
  }
}

function sendEntry(chunks: Uint8Array[], methodId: number, pending: Pending<void> | undefined): QueueEntry {
  return { chunks, responses: NO_RESPONSES, methodId, pending: pending as Pending<never> | undefined, complete: undefined };
}

function bytesEqual(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index++) {
    if (left[index] !== right[index]) return false;
  }
  return true;
}

function joinParts(parts: Uint8Array[], size: number): Uint8Array {
  let body: Uint8Array;
  try {
    body = new Uint8Array(size);
  } catch (error) {
    // Allocation fails when memory is short; the connection fails instead of the process.
    throw new FrameError(`could not allocate a message body of ${size} bytes`, 'MESSAGE_TOO_LARGE', ReplyCode.resourceError, error);
  }
  let offset = 0;
  for (const part of parts) {
    body.set(part, offset);
    offset += part.length;
  }
  return body;
}

function unexpectedFrame(description: string): FrameError {
  return new FrameError(`unexpected ${description}`, 'FRAME_UNEXPECTED', ReplyCode.unexpectedFrame);
}

