/**
 * Request and reply (RPC) over RabbitMQ's direct reply-to.
 *
 * How it works: an `RpcClient` consumes from the pseudo-queue `amq.rabbitmq.reply-to` in no-ack
 * mode, then publishes each request on the same channel with `replyTo` set to that name and a new
 * `correlationId`. RabbitMQ rewrites `replyTo` to a generated name that routes to this channel's
 * reply consumer. A server publishes its reply on the default exchange with that name as the
 * routing key and the request's `correlationId`, and the client matches the reply to its call
 * by that id.
 *
 * RabbitMQ imposes three rules (documentation page "Direct Reply-to", section "Caveats and
 * Limitations"). The reply consumer must be in no-ack mode, because there is no queue to return a
 * rejected reply to, so RabbitMQ refuses a manual-ack consumer with 406 PRECONDITION_FAILED. The
 * requests must be published on the channel that consumes the replies. A reply is discarded when
 * the client that sent the request has gone.
 */
import { AmqpError, type BasicProperties, ChannelError, type FieldTable, InvalidArgumentError } from '@warren/protocol';
import type { Channel, ChannelEvents, Message, ReturnedMessage } from './channel.js';
import type { Consumer, MessageCallback } from './consumer.js';

/** Name of RabbitMQ's direct reply-to pseudo-queue, used as the consumed queue and as `replyTo`. */
export const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

const DEFAULT_TIMEOUT_MS = 30_000;
/** Largest delay that `setTimeout` accepts; Node fires a longer one after 1 ms. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export interface RpcClientOptions {
  /** Default time in ms that a call waits for its reply. Default: 30,000. 0 waits without limit. */
  timeout?: number;
  /**
   * Default `mandatory` flag of the requests. Default: true, so that a request that no queue
   * receives rejects with `RPC_UNROUTABLE` at once instead of waiting for the timeout.
   */
  mandatory?: boolean;
}

export interface RpcCallOptions {
  /** Time in ms that this call waits for its reply; 0 waits without limit. Default: the client's. */
  timeout?: number;
  /** Whether the broker returns the request when no queue receives it. Default: the client's. */
  mandatory?: boolean;
  /** Properties of the request. The client sets `replyTo` and `correlationId`, replacing any given. */
  properties?: Omit<BasicProperties, 'replyTo' | 'correlationId'>;
}

interface PendingCall {
  resolve(reply: Message): void;
  reject(error: unknown): void;
  /** `performance.now()` time after which the call times out; Infinity without a timeout. */
  deadline: number;
  timeout: number;
  exchange: string;
  routingKey: string;
}

/**
 * The requesting side of RPC over direct reply-to, on a channel that the caller opened and owns.
 *
 * A channel can have at most one client, because RabbitMQ allows one direct reply-to consumer
 * per channel. The channel stays usable for other work, such as publishing or consuming elsewhere.
 * When the channel or its connection closes, every pending call rejects with the close's error
 * and the client is closed for good. Create a new client on a new channel to continue.
 */
export class RpcClient {
  /** Channel that consumes the replies and publishes the requests. */
  readonly channel: Channel;
  readonly #timeout: number;
  readonly #mandatory: boolean;
  readonly #pending = new Map<string, PendingCall>();
  /**
   * Start of every correlation id of this client. It is random, so that a late reply to an
   * earlier client on the same channel matches no call of this one. A call number follows it,
   * because an id needs to be unique only among this client's calls. Neither needs a
   * cryptographic generator, so the client does not load `node:crypto`.
   */
  readonly #idPrefix = `${randomBase36()}.`;
  #callCount = 0;
  #consumer: Consumer | undefined;
  #closeError: AmqpError | undefined;
  #closing: Promise<void> | undefined;
  #unmatchedReplies = 0;
  /**
   * One timer for all pending calls, due at `#timerAt`, the earliest deadline when it was set.
   * Calls usually end long before their deadline, so a timer per call would be set and cleared
   * for every call. This one fires only at deadlines of calls that were pending when it was
   * set, and is unreferenced while no call is pending, so that it does not keep the process alive.
   */
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  /**
   * Whether the pending calls with a deadline are in deadline order, as they are when they all
   * use the same timeout. Expiry then stops at the first call not yet due.
   */
  #deadlinesInOrder = true;
  #latestDeadline = -Infinity;

  readonly #onChannelClose: (...args: ChannelEvents['close']) => void;
  readonly #onReturn: (...args: ChannelEvents['return']) => void;
  readonly #onConsumerCancel = (): void => {
    this.#shutdown(new AmqpError('the broker cancelled the direct reply-to consumer, so no reply can arrive', { code: 'RPC_REPLY_CONSUMER_CANCELLED', source: 'broker' }));
  };

  private constructor(channel: Channel, timeout: number, mandatory: boolean) {
    this.channel = channel;
    this.#timeout = timeout;
    this.#mandatory = mandatory;

    const channelId = channel.id;
    this.#onChannelClose = (error) => {
      // The channel reports no error when the client closed it, but the pending calls need one.
      this.#shutdown(error ?? new ChannelError(`channel ${channelId} was closed by the client`, { code: 'CHANNEL_CLOSED', source: 'client' }));
    };
    this.#onReturn = (returned) => this.#handleReturn(returned);
  }

  /**
   * Starts a client on `channel`: consumes from `amq.rabbitmq.reply-to` in no-ack mode, which
   * RabbitMQ requires before the first request.
   *
   * @throws InvalidArgumentError when `options.timeout` is not a number from 0 to 2^31-1.
   * @throws ChannelError with code `CHANNEL_CLOSED_BY_BROKER` and reply code 406 when the channel
   *   already has a direct reply-to consumer; the broker closes the channel.
   * @throws ChannelError or ConnectionError when the channel is closed.
   */
  static async create(channel: Channel, options: RpcClientOptions = {}): Promise<RpcClient> {
    const timeout = validateTimeout(options.timeout ?? DEFAULT_TIMEOUT_MS);
    const client = new RpcClient(channel, timeout, options.mandatory ?? true);

    // The listeners come first, because a channel.close can follow consume-ok in the same socket
    // read, before the awaited promise resumes this function.
    channel.on('close', client.#onChannelClose);
    channel.on('return', client.#onReturn);
    try {
      client.#consumer = await channel.basicConsume(DIRECT_REPLY_TO, (reply) => client.#handleReply(reply), { noAck: true });
    } catch (error) {
      client.#detach();
      throw error;
    }

    client.#consumer.on('cancel', client.#onConsumerCancel);
    // A basic.cancel from the broker can also arrive in that socket read.
    if (client.#consumer.cancelledByBroker) client.#onConsumerCancel();
    return client;
  }

  /** Whether the client accepts calls: not closed, and its channel and reply consumer are open. */
  get isOpen(): boolean {
    return this.#closeError === undefined;
  }

  /** Number of calls waiting for a reply. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Number of replies dropped because no pending call has their correlation id: replies after a
   * timeout, duplicate replies, and messages that some other publisher sent to the reply address.
   */
  get unmatchedReplies(): number {
    return this.#unmatchedReplies;
  }

  /**
   * Publishes a request and resolves with the reply message. The timeout starts at the call, so
   * it includes any time that the publish is held while the broker blocks publishing. The call
   * does not wait for the socket to drain, unlike an awaited `basicPublish`.
   *
   * Rejects, and then ignores a late reply, with:
   * - `AmqpError` `RPC_TIMEOUT` (retryable) when no reply arrives within the timeout;
   * - `AmqpError` `RPC_UNROUTABLE` (retryable, reply code 312) when the request is `mandatory`
   *   and the broker returns it because no queue received it;
   * - the `ChannelError` or `ConnectionError` that closed the channel, or a `ChannelError`
   *   `CHANNEL_CLOSED` when the application closed the channel;
   * - the rejection of the request's publish, such as `NackError` in confirm mode;
   * - `AmqpError` `RPC_CLIENT_CLOSED` after `close()`, or `RPC_REPLY_CONSUMER_CANCELLED` when
   *   the broker cancelled the reply consumer;
   * - `InvalidArgumentError` when the timeout, the body or a property is invalid, and then
   *   nothing is sent.
   */
  call(exchange: string, routingKey: string, body: Uint8Array | string, options: RpcCallOptions = {}): Promise<Message> {
    if (this.#closeError !== undefined) return Promise.reject(this.#closeError);

    let timeout: number;
    try {
      timeout = validateTimeout(options.timeout ?? this.#timeout);
    } catch (error) {
      return Promise.reject(error);
    }

    const correlationId = this.#idPrefix + (++this.#callCount).toString(36);
    const properties: BasicProperties = { ...options.properties, replyTo: DIRECT_REPLY_TO, correlationId };
    const mandatory = options.mandatory ?? this.#mandatory;

    return new Promise<Message>((resolve, reject) => {
      // basicPublish throws before sending anything, and the executor turns that into a rejection.
      // The call is registered after the publish, which is safe because replies and returns
      // arrive in later socket reads, never during this synchronous code.
      const published = this.channel.basicPublish(exchange, routingKey, body, properties, { mandatory });

      const deadline = timeout > 0 ? performance.now() + timeout : Infinity;
      if (deadline !== Infinity) {
        if (deadline < this.#latestDeadline) this.#deadlinesInOrder = false;
        else this.#latestDeadline = deadline;
      }
      this.#pending.set(correlationId, { resolve, reject, deadline, timeout, exchange, routingKey });
      this.#watch(deadline);
      // The publish rejects on a nack in confirm mode, or when the channel closes while the
      // broker blocks publishing. A call already settled, for example by RPC_UNROUTABLE, ignores it.
      published.catch((error: unknown) => this.#take(correlationId)?.reject(error));
    });
  }

  /**
   * Rejects every pending call with `RPC_CLIENT_CLOSED` at once, then cancels the reply consumer.
   * The channel stays open. Resolves once the broker confirms the cancel, or at once when the
   * client was already closed by its channel. Never rejects.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;

    const wasOpen = this.#closeError === undefined;
    this.#shutdown(new AmqpError('the RPC client was closed', { code: 'RPC_CLIENT_CLOSED', source: 'client' }));
    this.#closing = wasOpen ? this.#cancelConsumer() : Promise.resolve();
    return this.#closing;
  }

  async #cancelConsumer(): Promise<void> {
    try {
      await this.#consumer?.cancel();
    } catch {
      // basic.cancel rejects only when the channel is closed or closing, and the broker drops the
      // consumer with the channel.
    }
  }

  /** Removes the pending call with `correlationId`; undefined when there is none. */
  #take(correlationId: string | undefined): PendingCall | undefined {
    const call = correlationId === undefined ? undefined : this.#pending.get(correlationId);
    if (call === undefined) return undefined;

    this.#pending.delete(correlationId!);
    if (this.#pending.size === 0) this.#becomeIdle();
    return call;
  }

  #handleReply(reply: Message): void {
    const call = this.#take(reply.properties.correlationId);
    if (call === undefined) {
      this.#unmatchedReplies++;
      return;
    }
    call.resolve(reply);
  }

  #handleReturn(returned: ReturnedMessage): void {
    const call = this.#take(returned.properties.correlationId);
    // Without a pending call, the message came from another publisher on this channel.
    if (call === undefined) return;

    const error = new AmqpError(
      `the broker returned the request to ${describeDestination(returned.exchange, returned.routingKey)} with ${returned.replyCode} ${returned.replyText}, because no queue received it. Check that the server has declared its queue and binding`,
      { code: 'RPC_UNROUTABLE', source: 'broker', retryable: true, replyCode: returned.replyCode, replyText: returned.replyText },
    );
    call.reject(error);
  }

  /** Makes sure that the timer fires by `deadline`, and keeps the process alive until then. */
  #watch(deadline: number): void {
    if (deadline === Infinity) return;
    if (this.#timer !== undefined && deadline >= this.#timerAt) {
      this.#timer.ref();
      return;
    }
    clearTimeout(this.#timer);
    this.#timerAt = deadline;
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, deadline - performance.now()));
  }

  /** Rejects every call past its deadline with `RPC_TIMEOUT`, then sets the timer for the next deadline. */
  #expire(): void {
    // The timer firing shows that its deadline has passed, even if the clock reads slightly less.
    const now = Math.max(performance.now(), this.#timerAt);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const expired: Array<[string, PendingCall]> = [];
    let next = Infinity;
    for (const entry of this.#pending) {
      const deadline = entry[1].deadline;
      if (deadline <= now) {
        expired.push(entry);
      } else if (deadline < next) {
        next = deadline;
        if (this.#deadlinesInOrder) break;
      }
    }

    for (const [correlationId, call] of expired) {
      this.#pending.delete(correlationId);
      const error = new AmqpError(
        `no reply within ${call.timeout} ms to the request to ${describeDestination(call.exchange, call.routingKey)} with correlation id ${correlationId}. Check that a server consumes these requests, or raise the timeout`,
        { code: 'RPC_TIMEOUT', source: 'client', retryable: true },
      );
      call.reject(error);
    }
    if (this.#pending.size === 0) this.#becomeIdle();
    else if (next !== Infinity && this.#closeError === undefined) this.#watch(next);
  }

  /** Lets the process exit while no call is pending, and starts deadline order afresh. */
  #becomeIdle(): void {
    this.#timer?.unref();
    this.#deadlinesInOrder = true;
    this.#latestDeadline = -Infinity;
  }

  /** Closes the client for good and rejects each pending call once with `error`. */
  #shutdown(error: AmqpError): void {
    if (this.#closeError !== undefined) return;
    this.#closeError = error;
    this.#detach();

    const calls = [...this.#pending.values()];
    this.#pending.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    for (const call of calls) call.reject(error);
  }

  #detach(): void {
    this.channel.off('close', this.#onChannelClose);
    this.channel.off('return', this.#onReturn);
    this.#consumer?.off('cancel', this.#onConsumerCancel);
  }
}

/** Reply of an RPC handler: a body, or a body with the reply's properties. */
export type RpcReply = Uint8Array | string | { body: Uint8Array | string; properties?: BasicProperties };

/** Computes the reply to one request; it may throw or reject to refuse the request. */
export type RpcHandler = (request: Message) => RpcReply | Promise<RpcReply>;

export interface RpcServerOptions {
  /**
   * Prefetch count set with `basic.qos` before consuming, which limits how many handlers run at
   * once. It also applies to consumers started later on the same channel. Default: the
   * channel's current setting, which is no limit unless the application set one.
   */
  prefetchCount?: number;
  /** Consumer tag; by default the broker generates one. */
  consumerTag?: string;
  /** Whether this server must be the queue's only consumer. Default: false. */
  exclusive?: boolean;
  /** Arguments of `basic.consume`, such as RabbitMQ's `x-priority`. */
  arguments?: FieldTable;
  /**
   * Receives each request that the server rejected, with the reason: what the handler threw, an
   * `InvalidArgumentError` for a reply that cannot be encoded, the `NackError` of a reply in
   * confirm mode, or `RPC_REPLY_TO_MISSING`. An exception that it throws is ignored so that it
   * cannot stop the server.
   */
  onError?: (error: unknown, request: Message) => void;
}

/**
 * Serves requests from `queue` on `channel`: for each request, calls `handler`, publishes its
 * reply on the default exchange with the request's `replyTo` as the routing key and the request's
 * `correlationId`, then acknowledges the request once the reply's publish promise resolves. That
 * is at once, or after the socket drains, or in confirm mode after the broker confirms the reply.
 * Requests are handled concurrently, as they arrive, so set `prefetchCount` to bound how many run
 * at once. The queue must exist already.
 *
 * A request is rejected without requeue (`basic.nack`) and reaches `options.onError` when the
 * handler throws or rejects, when the reply cannot be encoded, when the broker nacks the reply in
 * confirm mode, or when the request has no `replyTo`. Rejecting without requeue sends it to the queue's dead-letter
 * exchange if there is one, and a requeue would deliver the same failure again. The caller then
 * gets `RPC_TIMEOUT`. To tell the caller about a failure, return an error reply from the handler
 * in a format that both sides agree on.
 *
 * When the channel closes while a handler runs, its reply is not sent, and the broker requeues
 * the unacknowledged request for another consumer.
 *
 * @throws ChannelError when the broker refuses the consumer, for example 404 when the queue does
 *   not exist, or ChannelError or ConnectionError when the channel is closed.
 */
export async function serveRpc(channel: Channel, queue: string, handler: RpcHandler, options: RpcServerOptions = {}): Promise<RpcServer> {
  if (options.prefetchCount !== undefined) await channel.basicQos(options.prefetchCount);

  const server = new RpcServer(channel, queue, handler, options.onError);
  const consumeOptions = {
    noAck: false,
    exclusive: options.exclusive ?? false,
    arguments: options.arguments ?? {},
    consumerTag: options.consumerTag,
  };
  // The server exists before the consumer, because deliveries can follow consume-ok in the same
  // socket read, before the awaited promise resumes this function.
  server.attach(await channel.basicConsume(queue, server.receive, consumeOptions));
  return server;
}

/** The serving side of RPC, started by `serveRpc`. */
export class RpcServer {
  readonly channel: Channel;
  /** Queue that the requests come from. */
  readonly queue: string;
  readonly #handler: RpcHandler;
  readonly #onError: RpcServerOptions['onError'];
  readonly #active = new Set<Promise<void>>();
  #consumer: Consumer | undefined;
  #closing: Promise<void> | undefined;
  /** @internal Callback of the server's consumer. */
  readonly receive: MessageCallback;

  /** @internal Use `serveRpc()`. */
  constructor(channel: Channel, queue: string, handler: RpcHandler, onError: RpcServerOptions['onError']) {
    this.channel = channel;
    this.queue = queue;
    this.#handler = handler;
    this.#onError = onError;
    this.receive = (request) => {
      const served = this.#serve(request).finally(() => this.#active.delete(served));
      this.#active.add(served);
    };
  }

  /** @internal */
  attach(consumer: Consumer): void {
    this.#consumer = consumer;
  }

  /** Consumer tag of the server's consumer. */
  get consumerTag(): string {
    return this.#consumer?.tag ?? '';
  }

  /** Number of requests whose handler has not finished yet. */
  get activeRequests(): number {
    return this.#active.size;
  }

  /**
   * Cancels the consumer, then waits for the running handlers, which still reply and acknowledge
   * while the channel is open. Requests that arrive before the broker confirms the cancel are
   * served too. The channel stays open. Never rejects.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    try {
      await this.#consumer?.cancel();
    } catch {
      // basic.cancel rejects only when the channel is closed or closing, and the broker drops the
      // consumer with the channel.
    }
    // No request arrives after the cancel resolves, so this set is complete.
    await Promise.all(this.#active);
  }

  /** Handles one request; never rejects, because a rejection here would be unhandled. */
  async #serve(request: Message): Promise<void> {
    const replyTo = request.properties.replyTo;
    if (replyTo === undefined || replyTo === '') {
      const error = new AmqpError(`the request from ${describeDestination(request.exchange, request.routingKey)} has no replyTo property, so it was rejected without requeue`, {
        code: 'RPC_REPLY_TO_MISSING',
        source: 'broker',
      });
      this.#refuse(request, error);
      return;
    }

    let reply: RpcReply;
    try {
      reply = await this.#handler(request);
    } catch (error) {
      this.#refuse(request, error);
      return;
    }

    try {
      const { body, properties } = replyContent(reply);
      const correlationId = request.properties.correlationId;
      const replyProperties = correlationId === undefined ? properties : { ...properties, correlationId };
      // Acknowledging only after the publish settles means that a reply which the broker did not
      // take, in confirm mode, leaves the request unacknowledged until it is rejected below.
      await this.channel.basicPublish('', replyTo, body, replyProperties);
      this.channel.basicAck(request.deliveryTag);
    } catch (error) {
      // A closed channel is not this request's failure: the broker requeues the request.
      if (!this.channel.isOpen) return;
      this.#refuse(request, error);
    }
  }

  /** Rejects a request without requeue while the channel is open, and reports `error`. */
  #refuse(request: Message, error: unknown): void {
    if (this.channel.isOpen) this.channel.basicNack(request.deliveryTag, false, false);

    const onError = this.#onError;
    if (onError === undefined) return;
    try {
      onError(error, request);
    } catch {
      // Ignored on purpose: see `RpcServerOptions.onError`.
    }
  }
}

/** Splits a handler's reply into body and properties, or throws when it is neither form. */
function replyContent(reply: RpcReply): { body: Uint8Array | string; properties: BasicProperties } {
  if (typeof reply === 'string' || reply instanceof Uint8Array) return { body: reply, properties: {} };

  const candidate = reply as { body?: unknown; properties?: BasicProperties } | null | undefined;
  if (typeof candidate === 'object' && candidate !== null && (typeof candidate.body === 'string' || candidate.body instanceof Uint8Array)) {
    return { body: candidate.body, properties: candidate.properties ?? {} };
  }

  let got: string = typeof candidate;
  if (candidate === null) got = 'null';
  else if (typeof candidate === 'object') got = 'an object without a string or Uint8Array body';
  throw new InvalidArgumentError(`RPC handler reply: expected a Uint8Array, a string or { body, properties }, got ${got}`, 'VALUE_TYPE_INVALID');
}

/** Returns a random whole number below 2^52 in base 36: up to 11 characters. */
function randomBase36(): string {
  return Math.floor(Math.random() * 2 ** 52).toString(36);
}

/** Returns `timeout` unchanged, or throws InvalidArgumentError unless it is 0 to 2^31-1 ms. */
function validateTimeout(timeout: number): number {
  if (typeof timeout !== 'number') {
    throw new InvalidArgumentError(`RPC timeout: expected a number of ms, got ${typeof timeout}`, 'VALUE_TYPE_INVALID');
  }
  if (!(timeout >= 0 && timeout <= MAX_TIMEOUT_MS)) {
    throw new InvalidArgumentError(`RPC timeout: expected 0 to ${MAX_TIMEOUT_MS} ms, got ${timeout}`, 'VALUE_OUT_OF_RANGE');
  }
  return timeout;
}

function describeDestination(exchange: string, routingKey: string): string {
  const target = exchange === '' ? 'the default exchange' : `exchange '${exchange}'`;
  return `${target} with routing key '${routingKey}'`;
}
