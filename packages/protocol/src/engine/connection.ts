import { FrameDecoder } from '../codec/frame-decoder.js';
import { HEARTBEAT_FRAME, PROTOCOL_HEADER, encodeMethodFrame } from '../codec/frame-encoder.js';
import type { FieldTable } from '../codec/field-value.js';
import { Reader } from '../codec/reader.js';
import { Writer } from '../codec/writer.js';
import {
  AccessRefusedError,
  AmqpError,
  AuthenticationError,
  ChannelError,
  ConnectionClosedByBrokerError,
  ConnectionClosedByClientError,
  ConnectionError,
  FrameError,
  HeartbeatTimeoutError,
} from '../errors.js';
import { FrameType, ReplyCode } from '../generated/constants.js';
import {
  type AnyMethod,
  ConnectionClose,
  ConnectionCloseOk,
  ConnectionOpen,
  ConnectionSecureOk,
  ConnectionStartOk,
  ConnectionTuneOk,
  ConnectionUpdateSecret,
  MethodId,
  decodeMethod,
  methodName,
} from '../generated/methods.js';
import { type ChannelHandler, ChannelEngine, type ChannelHost, type Pending } from './channel.js';
import { failedMethodPrefix } from './close-reason.js';
import type { SaslMechanism } from './sasl.js';
import { type TuneParameters, negotiateTune } from './tune.js';

/** Options of the connection handshake. */
export interface ConnectionEngineOptions {
  /** SASL mechanism that authenticates the client. */
  mechanism: SaslMechanism;
  /** Virtual host to open. Default: `/`. */
  vhost?: string;
  /** Name shown for this connection in the RabbitMQ management UI. */
  connectionName?: string;
  /** Extra client properties; they override the defaults of the same name. */
  clientProperties?: FieldTable;
  /** Client product and version, sent as the `product` and `version` properties. */
  product?: { name: string; version: string };
  /** Runtime description sent as the `platform` property, such as `Node.js v20.20.2`. */
  platform?: string;
  /** Heartbeat interval in seconds; 0 disables heartbeats. Default: the broker's value. */
  heartbeat?: number;
  /** Largest frame in bytes, at least 4096. Default: 131072, capped by the broker's limit. */
  frameMax?: number;
  /** Highest channel number, 1 to 65535. Default: 2047, capped by the broker's limit. */
  channelMax?: number;
  /** Largest message body accepted from the broker, in bytes. Default: 512 MiB. */
  maxMessageSize?: number;
  /** Locale requested in `connection.start-ok`. Default: `en_US`. */
  locale?: string;
  /** Maximum time in milliseconds to wait for the broker's `close-ok` before giving up. Default: 10000. */
  closeTimeout?: number;
  /**
   * Maximum time in milliseconds that the broker may block publishing (`connection.blocked`)
   * before the connection is closed with a `BLOCKED_TIMEOUT` error. Default: no limit.
   */
  blockedConnectionTimeout?: number;
}

/** Receives what the connection does; an adapter implements it over its transport. */
export interface ConnectionEngineHandler {
  /** Writes bytes to the transport, in order. */
  send(chunk: Uint8Array): void;
  /** Called once when `connection.open-ok` arrives and channels can be opened. */
  onOpen?(): void;
  /**
   * Called once when the connection ends. `error` is undefined for a close that the client asked
   * for. The adapter closes its transport after writing what `send` received before.
   */
  onClose?(error: AmqpError | undefined): void;
  /** Called when the broker blocks publishing (`connection.blocked`), with its reason. */
  onBlocked?(reason: string): void;
  /** Called when the broker unblocks publishing (`connection.unblocked`). */
  onUnblocked?(): void;
  /**
   * Allocates `size` bytes for a copy of received bytes that the engine keeps, which it then
   * overwrites entirely, so the memory need not be zeroed. Only `receive` with `chunkReused`
   * copies. Default: `new Uint8Array(size)`.
   */
  allocate?(size: number): Uint8Array;
}

/**
 * Connection states: `starting` waits for `connection.start`, `securing` for `secure` or `tune`,
 * `opening` for `open-ok`, and `closing` for `close-ok`.
 */
export type ConnectionState = 'idle' | 'starting' | 'securing' | 'opening' | 'open' | 'closing' | 'closed';

const DEFAULT_MAX_MESSAGE_SIZE = 512 * 1024 * 1024;
const textEncoder = new TextEncoder();
const DEFAULT_CLOSE_TIMEOUT = 10_000;
const NO_BYTES = new Uint8Array(0);
const PRODUCT = { name: 'Warren', version: '0.0.0' };
const CAPABILITIES: FieldTable = {
  publisher_confirms: true,
  exchange_exchange_bindings: true,
  'basic.nack': true,
  consumer_cancel_notify: true,
  'connection.blocked': true,
  authentication_failure_close: true,
  per_consumer_qos: true,
};

/**
 * The AMQP 0-9-1 connection state machine, without I/O: bytes and the current time go in,
 * bytes and callbacks come out.
 *
 * How it works: `start()` sends the protocol header. Each `receive()` feeds the frame decoder and
 * handles every complete frame: channel 0 drives the handshake (start, secure, tune, open) and the
 * close, other channels go to their `ChannelEngine`. `tick()` sends heartbeats and detects a
 * silent broker; the adapter calls it no later than `nextTimerAt`. A protocol violation by the
 * broker closes the connection with the matching reply code and reports a `FrameError`.
 */
export class ConnectionEngine implements ChannelHost {
  readonly writer = new Writer();
  #options: ConnectionEngineOptions;
  #handler: ConnectionEngineHandler;
  #decoder = new FrameDecoder();
  /** The chunk that `receive` handles when its caller reuses it afterwards. */
  #reusedChunk: Uint8Array | undefined = undefined;
  /** Reads the payload of each received frame in turn, so that a frame allocates no reader. */
  readonly #payload = new Reader(NO_BYTES);
  #state: ConnectionState = 'idle';
  #channels = new Map<number, ChannelEngine>();
  #nextChannelId = 1;
  #tune: TuneParameters = { channelMax: 0, frameMax: 4096, heartbeat: 0 };
  #serverProperties: FieldTable = {};
  #closeError: AmqpError | undefined;
  #closePending: Pending<void>[] = [];
  #receivedAny = false;

  // Heartbeats: sends are counted rather than timed, so `send` needs no clock. `tick` turns a
  // changed count into the time of the last send, accurate to one check interval.
  #sentFrames = 0;
  #sentFramesAtCheck = 0;
  #lastSendAt = 0;
  #lastReceiveAt = 0;
  #nextCheckAt: number | undefined;
  #closeDeadline: number | undefined;
  #blocked = false;
  #blockedDeadline: number | undefined;
  #updateSecretPending: Pending<void> | undefined;

  constructor(options: ConnectionEngineOptions, handler: ConnectionEngineHandler) {
    validateOptions(options);
    this.#options = options;
    this.#handler = handler;
    // Body frames that straddle received chunks are copied straight into their message's body.
    this.#decoder.bodyTarget = (channel, size) => this.#channels.get(channel)?.bodyTarget(size);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Negotiated limits; valid once the connection is open. */
  get tune(): Readonly<TuneParameters> {
    return this.#tune;
  }

  get frameMax(): number {
    return this.#tune.frameMax;
  }

  get maxMessageSize(): number {
    return this.#options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /** Properties that the broker sent in `connection.start`, including its `capabilities`. */
  get serverProperties(): FieldTable {
    return this.#serverProperties;
  }

  /** Whether the broker blocks publishing on this connection (`connection.blocked`). */
  get blocked(): boolean {
    return this.#blocked;
  }

  /** The error that ended the connection, once it has ended with one. */
  get closeError(): AmqpError | undefined {
    return this.#closeError;
  }

  /**
   * Time in milliseconds at which `tick()` must run next, or undefined when no timer is needed.
   * A time in the past means that `tick()` is due at once.
   */
  get nextTimerAt(): number | undefined {
    return this.#nextCheckAt;
  }

  /** Starts the handshake by sending the protocol header. */
  start(now: number): void {
    if (this.#state !== 'idle') throw new ConnectionError('the connection was already started', { code: 'INVALID_STATE', source: 'client' });
    this.#state = 'starting';
    this.#lastReceiveAt = now;
    this.send(PROTOCOL_HEADER);
  }

  /**
   * Handles bytes received from the transport at time `now` (milliseconds).
   *
   * With `chunkReused`, the caller overwrites `chunk` once this returns, as an adapter does that
   * reads the network into one buffer. The engine then copies whatever it keeps of the chunk: a
   * message body is copied into memory from the handler's `allocate`, and the frame decoder copies
   * the start of a frame that has not fully arrived. Without it, the engine keeps views of the
   * chunk, such as the bodies of messages that lie in it.
   */
  receive(chunk: Uint8Array, now: number, chunkReused = false): void {
    if (this.#state === 'closed' || chunk.length === 0) return;
    this.#lastReceiveAt = now;
    if (this.#state === 'starting' && !this.#receivedAny) {
      this.#receivedAny = true;
      // A broker opens with a method frame (type 1), or with its protocol header ('A') when it
      // rejects our version. Anything else comes from some other kind of server.
      if (chunk[0] !== FrameType.method && chunk[0] !== 0x41) {
        this.fail(notAmqpError(chunk));
        return;
      }
    }
    const decoder = this.#decoder;
    decoder.push(chunk);
    if (chunkReused) this.#reusedChunk = chunk;
    try {
      let type: number;
      while ((type = decoder.advance()) !== 0) {
        this.#payload.reset(decoder.payloadBytes, decoder.payloadStart, decoder.payloadEnd);
        this.#handleFrame(type, decoder.channel, now);
        // A frame may have ended the connection; TypeScript cannot see that the call changed the state.
        if ((this.#state as ConnectionState) === 'closed') return;
      }
    } catch (error) {
      if (!(error instanceof AmqpError)) throw error;
      this.fail(error);
    } finally {
      // Release the chunk, which would otherwise stay in memory until the next one arrives.
      this.#payload.reset(NO_BYTES);
      if (chunkReused) {
        this.#reusedChunk = undefined;
        decoder.detachChunks();
      }
    }
  }

  /**
   * Returns `bytes`, or a copy of them when they view a chunk passed to `receive` with
   * `chunkReused`. Channels call it for every received body they hand on or keep.
   */
  keepReceived(bytes: Uint8Array): Uint8Array {
    const chunk = this.#reusedChunk;
    if (chunk === undefined || bytes.buffer !== chunk.buffer) return bytes;
    const copy = this.#handler.allocate?.(bytes.length) ?? new Uint8Array(bytes.length);
    copy.set(bytes);
    return copy;
  }

  /** Sends a heartbeat when the connection has been quiet, and ends it when the broker has been. */
  tick(now: number): void {
    if (this.#state === 'closing') {
      this.#checkCloseDeadline(now);
      return;
    }

    if (this.#blocked && this.#options.blockedConnectionTimeout !== undefined) {
      this.#blockedDeadline ??= now + this.#options.blockedConnectionTimeout;
      if (now >= this.#blockedDeadline) {
        this.#failBlocked();
        return;
      }
    }

    const interval = this.#tune.heartbeat * 1000;
    if ((this.#state !== 'open' && this.#state !== 'opening') || interval === 0) {
      this.#nextCheckAt = this.#blockedDeadline;
      return;
    }

    if (this.#sentFrames !== this.#sentFramesAtCheck) {
      this.#sentFramesAtCheck = this.#sentFrames;
      this.#lastSendAt = now;
    }
    if (now - this.#lastReceiveAt >= 2 * interval) {
      const error = new HeartbeatTimeoutError(
        `no frame arrived from the broker for ${Math.round((now - this.#lastReceiveAt) / 1000)} s, twice the heartbeat interval of ${this.#tune.heartbeat} s`,
        { code: 'HEARTBEAT_TIMEOUT', source: 'network', retryable: true },
      );
      this.#finish(error, error);
      return;
    }
    if (now - this.#lastSendAt >= interval) {
      this.send(HEARTBEAT_FRAME);
      this.#sentFramesAtCheck = this.#sentFrames;
      this.#lastSendAt = now;
    }
    this.#nextCheckAt = Math.min(now + interval / 4, this.#blockedDeadline ?? Infinity);
  }

  /**
   * Replaces the secret, such as an expiring OAuth token, that the connection authenticated
   * with (`connection.update-secret`, a RabbitMQ extension); `pending` resolves once the broker
   * accepts it.
   */
  updateSecret(newSecret: string, reason: string, pending: Pending<void>): void {
    this.#assertOpen();
    if (this.#updateSecretPending !== undefined) {
      throw new ConnectionError('a connection.update-secret is already waiting for its answer', {
        code: 'UPDATE_SECRET_PENDING',
        source: 'client',
      });
    }
    this.send(encodeMethodFrame(this.writer, 0, new ConnectionUpdateSecret(newSecret, reason)));
    this.#updateSecretPending = pending;
  }

  #failBlocked(): void {
    const seconds = (this.#options.blockedConnectionTimeout ?? 0) / 1000;
    const error = new ConnectionError(`the broker blocked publishing for longer than blockedConnectionTimeout (${seconds} s)`, {
      code: 'BLOCKED_TIMEOUT',
      source: 'broker',
      retryable: true,
    });
    this.#beginClose(error, new ConnectionClose(ReplyCode.replySuccess, 'blocked for too long', 0, 0));
    this.#finish(error, error);
  }

  /**
   * Opens a channel. `pending` resolves with the channel once the broker replies. The handler
   * receives the channel's events.
   */
  openChannel(handler: ChannelHandler, pending: Pending<ChannelEngine>): void {
    this.#assertOpen();
    const id = this.#allocateChannelId();
    const channel = new ChannelEngine(id, this, handler);
    this.#channels.set(id, channel);
    channel.open({ resolve: () => pending.resolve(channel), reject: (error) => pending.reject(error) });
  }

  /**
   * Closes the connection. Channels and their requests reject with a `CONNECTION_CLOSED` error,
   * and `pending` resolves once the broker replies with `connection.close-ok`, or at once when
   * the connection has already ended.
   */
  close(pending: Pending<void>, replyCode: number = ReplyCode.replySuccess, replyText = 'Goodbye'): void {
    if (this.#state === 'closed') {
      pending.resolve();
      return;
    }
    this.#closePending.push(pending);
    if (this.#state === 'closing') return;

    const error = new ConnectionClosedByClientError('the connection was closed by the client', {
      code: 'CONNECTION_CLOSED',
      source: 'client',
      replyCode,
      replyText,
    });
    if (this.#state !== 'open') {
      // Before the handshake completes there is nothing to close politely.
      this.#finish(error, undefined);
      return;
    }
    this.#beginClose(error, new ConnectionClose(replyCode, replyText, 0, 0));
  }

  /**
   * Reports that the transport closed. Unless the connection already ended, this ends it with
   * a network error, or with the probable cause when the broker hung up during the handshake.
   */
  transportClosed(cause?: unknown): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'closing') {
      this.#finishClose();
      return;
    }
    const error = transportClosedError(this.#state, cause);
    this.#finish(error, error);
  }

  /** Ends the connection because of a protocol violation, telling the broker why. */
  fail(error: AmqpError): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'closing' || this.#state === 'idle') {
      this.#finish(error, error);
      return;
    }
    const replyCode = error.replyCode ?? ReplyCode.internalError;
    this.#beginClose(error, new ConnectionClose(replyCode, truncate(error.message, 255), 0, 0));
    // The broker's close-ok is not needed to report the failure, so callers learn of it now.
    this.#finish(error, error);
  }

  /** Sends a chunk of encoded frames. */
  send(chunk: Uint8Array): void {
    this.#sentFrames++;
    this.#handler.send(chunk);
  }

  release(channel: ChannelEngine): void {
    if (this.#channels.get(channel.id) === channel) this.#channels.delete(channel.id);
  }

  /** Handles a frame whose payload `#payload` reads. */
  #handleFrame(type: number, channelId: number, now: number): void {
    if (type === FrameType.heartbeat) return;

    if (channelId === 0) {
      if (type !== FrameType.method) {
        throw new FrameError(`unexpected frame of type ${type} on channel 0`, 'FRAME_UNEXPECTED', ReplyCode.unexpectedFrame);
      }
      this.#handleConnectionMethod(decodeMethod(this.#payload), now);
      return;
    }

    const channel = this.#channels.get(channelId);
    if (channel === undefined) {
      if (this.#state === 'closing') return;
      throw new FrameError(`frame for channel ${channelId}, which is not open`, 'CHANNEL_UNKNOWN', ReplyCode.channelError);
    }
    channel.receiveFrame(type, this.#payload);
  }

  #handleConnectionMethod(method: AnyMethod, now: number): void {
    // After sending close, the spec has the client discard everything but close and close-ok.
    if (this.#state === 'closing' && method.id !== MethodId.ConnectionClose && method.id !== MethodId.ConnectionCloseOk) {
      return;
    }

    switch (method.id) {
      case MethodId.ConnectionStart:
        this.#expectState('starting', method);
        this.#handleStart(method);
        return;
      case MethodId.ConnectionSecure:
        this.#expectState('securing', method);
        this.#handleSecure(method.challenge);
        return;
      case MethodId.ConnectionTune:
        this.#expectState('securing', method);
        this.#handleTune(method, now);
        return;
      case MethodId.ConnectionOpenOk:
        this.#expectState('opening', method);
        this.#state = 'open';
        this.#handler.onOpen?.();
        return;
      case MethodId.ConnectionClose:
        this.#handleBrokerClose(method);
        return;
      case MethodId.ConnectionCloseOk:
        this.#expectState('closing', method);
        this.#finishClose();
        return;
      case MethodId.ConnectionBlocked:
        this.#blocked = true;
        // The engine has no clock: a check due at once lets the next tick start the timeout.
        this.#blockedDeadline = undefined;
        if (this.#options.blockedConnectionTimeout !== undefined) this.#nextCheckAt = 0;
        this.#handler.onBlocked?.(method.reason);
        return;
      case MethodId.ConnectionUnblocked:
        this.#blocked = false;
        this.#blockedDeadline = undefined;
        this.#handler.onUnblocked?.();
        for (const channel of [...this.#channels.values()]) channel.resumePublishing();
        return;
      case MethodId.ConnectionUpdateSecretOk: {
        const pending = this.#updateSecretPending;
        if (pending === undefined) {
          throw new FrameError('unexpected connection.update-secret-ok', 'METHOD_UNEXPECTED', ReplyCode.commandInvalid);
        }
        this.#updateSecretPending = undefined;
        pending.resolve();
        return;
      }
      default:
        throw new FrameError(`unexpected ${methodName(method.id)} on channel 0`, 'METHOD_UNEXPECTED', ReplyCode.commandInvalid);
    }
  }

  #handleStart(method: Extract<AnyMethod, { id: typeof MethodId.ConnectionStart }>): void {
    if (method.versionMajor !== 0 || method.versionMinor !== 9) {
      throw new ConnectionError(`the broker speaks AMQP ${method.versionMajor}-${method.versionMinor}, not 0-9-1`, {
        code: 'PROTOCOL_VERSION_MISMATCH',
        source: 'broker',
      });
    }
    const mechanism = this.#options.mechanism;
    const offered = method.mechanisms.split(' ');
    if (!offered.includes(mechanism.name)) {
      throw new ConnectionError(`the broker does not offer SASL mechanism ${mechanism.name}; it offers ${offered.join(', ')}`, {
        code: 'AUTH_MECHANISM_UNSUPPORTED',
        source: 'client',
      });
    }

    this.#serverProperties = method.serverProperties;
    this.#state = 'securing';
    const startOk = new ConnectionStartOk(
      this.#clientProperties(),
      mechanism.name,
      mechanism.initialResponse(),
      this.#options.locale ?? 'en_US',
    );
    this.send(encodeMethodFrame(this.writer, 0, startOk));
  }

  #handleSecure(challenge: Uint8Array): void {
    const mechanism = this.#options.mechanism;
    if (mechanism.challenge === undefined) {
      throw new ConnectionError(`the broker sent a connection.secure challenge, which SASL mechanism ${mechanism.name} cannot answer`, {
        code: 'AUTH_CHALLENGE_UNSUPPORTED',
        source: 'broker',
      });
    }
    this.send(encodeMethodFrame(this.writer, 0, new ConnectionSecureOk(mechanism.challenge(challenge))));
  }

  #handleTune(method: Extract<AnyMethod, { id: typeof MethodId.ConnectionTune }>, now: number): void {
    const tune = negotiateTune(method, this.#options);
    this.#tune = tune;
    this.#decoder.frameMax = tune.frameMax;
    this.#state = 'opening';
    this.send(encodeMethodFrame(this.writer, 0, new ConnectionTuneOk(tune.channelMax, tune.frameMax, tune.heartbeat)));
    this.send(encodeMethodFrame(this.writer, 0, new ConnectionOpen(this.#options.vhost ?? '/')));

    if (tune.heartbeat > 0) {
      this.#lastSendAt = now;
      this.#sentFramesAtCheck = this.#sentFrames;
      this.#nextCheckAt = now + (tune.heartbeat * 1000) / 4;
    }
  }

  #handleBrokerClose(method: Extract<AnyMethod, { id: typeof MethodId.ConnectionClose }>): void {
    this.send(encodeMethodFrame(this.writer, 0, new ConnectionCloseOk()));
    const error = brokerCloseError(this.#state, method);
    this.#finish(error, error);
  }

  /**
   * Gives up on a close that the broker has not confirmed within `closeTimeout`, so a broker
   * that stopped reading or replying cannot keep the connection open.
   */
  #checkCloseDeadline(now: number): void {
    this.#closeDeadline ??= now + (this.#options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT);
    if (now < this.#closeDeadline) {
      this.#nextCheckAt = this.#closeDeadline;
      return;
    }
    this.#finishClose();
  }

  /** Ends a close under way, reporting no error when the client asked for it. */
  #finishClose(): void {
    const error = this.#closeError!;
    this.#finish(error, error.source === 'client' ? undefined : error);
  }

  #beginClose(error: AmqpError, close: ConnectionClose): void {
    this.#state = 'closing';
    this.#closeError = error;
    // The engine has no clock of its own: a check due at once lets the next tick set the deadline.
    this.#closeDeadline = undefined;
    this.#nextCheckAt = 0;
    for (const channel of [...this.#channels.values()]) channel.connectionClosed(error);
    this.send(encodeMethodFrame(this.writer, 0, close));
  }

  /**
   * Ends the connection: every channel and waiting close completes, and the handler learns of it
   * once. `reported` is what the handler receives: undefined for a close the client asked for.
   */
  #finish(error: AmqpError, reported: AmqpError | undefined): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#closeError ??= error;
    this.#nextCheckAt = undefined;

    for (const channel of [...this.#channels.values()]) channel.connectionClosed(error);
    this.#channels.clear();

    const updateSecret = this.#updateSecretPending;
    this.#updateSecretPending = undefined;
    updateSecret?.reject(error);

    const closePending = this.#closePending;
    this.#closePending = [];
    for (const pending of closePending) pending.resolve();
    this.#handler.onClose?.(reported);
  }

  #clientProperties(): FieldTable {
    const product = this.#options.product ?? PRODUCT;
    const properties: FieldTable = {
      product: product.name,
      version: product.version,
      platform: this.#options.platform ?? 'JavaScript',
      information: 'AMQP 0-9-1 client',
      capabilities: CAPABILITIES,
    };
    if (this.#options.connectionName !== undefined) properties.connection_name = this.#options.connectionName;
    return { ...properties, ...this.#options.clientProperties };
  }

  #allocateChannelId(): number {
    const channelMax = this.#tune.channelMax;
    for (let attempt = 0; attempt < channelMax; attempt++) {
      const id = this.#nextChannelId;
      this.#nextChannelId = id >= channelMax ? 1 : id + 1;
      if (!this.#channels.has(id)) return id;
    }
    throw new ChannelError(`all ${channelMax} channels of the connection are in use`, {
      code: 'CHANNEL_MAX_REACHED',
      source: 'client',
    });
  }

  #assertOpen(): void {
    if (this.#state === 'open') return;
    throw this.#closeError ?? new ConnectionError(`the connection is not open (state: ${this.#state})`, { code: 'CONNECTION_NOT_OPEN', source: 'client' });
  }

  #expectState(state: ConnectionState, method: AnyMethod): void {
    if (this.#state === state) return;
    throw new FrameError(`unexpected ${methodName(method.id)} in connection state ${this.#state}`, 'METHOD_UNEXPECTED', ReplyCode.commandInvalid);
  }
}

function validateOptions(options: ConnectionEngineOptions): void {
  const checks: [string, number | undefined, number, number][] = [
    ['heartbeat', options.heartbeat, 0, 65535],
    ['frameMax', options.frameMax, 4096, 4294967295],
    ['channelMax', options.channelMax, 1, 65535],
    // Above 2^32 bytes a body cannot be allocated as one Uint8Array in every runtime.
    ['maxMessageSize', options.maxMessageSize, 0, 2 ** 32],
    ['closeTimeout', options.closeTimeout, 0, 2 ** 31 - 1],
    ['blockedConnectionTimeout', options.blockedConnectionTimeout, 0, 2 ** 31 - 1],
  ];
  for (const [name, value, min, max] of checks) {
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new ConnectionError(`option ${name} must be an integer from ${min} to ${max}; got ${value}`, {
        code: 'INVALID_OPTION',
        source: 'client',
      });
    }
  }
}

/** Builds the error for a `connection.close` from the broker, naming the likely cause during the handshake. */
function brokerCloseError(state: ConnectionState, method: Extract<AnyMethod, { id: typeof MethodId.ConnectionClose }>): ConnectionError {
  const failed = failedMethodPrefix(method);
  const options = {
    source: 'broker',
    replyCode: method.replyCode,
    replyText: method.replyText,
    classId: method.classId,
    methodId: method.methodId,
  } as const;
  const message = `${failed}${method.replyText}`;

  if (state === 'securing' && method.replyCode === ReplyCode.accessRefused) {
    return new AuthenticationError(message, { ...options, code: 'AUTHENTICATION_FAILED' });
  }
  if (state === 'opening' && (method.replyCode === ReplyCode.notAllowed || method.replyCode === ReplyCode.accessRefused)) {
    return new AccessRefusedError(message, { ...options, code: 'VHOST_ACCESS_REFUSED' });
  }
  return new ConnectionClosedByBrokerError(message, {
    ...options,
    code: 'CONNECTION_CLOSED_BY_BROKER',
    // A forced close comes from an operator or a node shutting down, so another node or a later
    // attempt may accept the connection.
    retryable: method.replyCode === ReplyCode.connectionForced,
  });
}


/**
 * Builds the error for a transport that closed without `connection.close`. A broker that hangs
 * up right after `start-ok` most likely refused the credentials, and one that hangs up after
 * `open` most likely refused access to the virtual host.
 */
function transportClosedError(state: ConnectionState, cause: unknown): ConnectionError {
  if (state === 'securing') {
    return new AuthenticationError('the broker closed the connection during authentication; the credentials were probably refused', {
      code: 'PROBABLE_AUTHENTICATION_FAILURE',
      source: 'broker',
      cause,
    });
  }
  if (state === 'opening') {
    return new AccessRefusedError('the broker closed the connection while opening the virtual host; access was probably refused', {
      code: 'PROBABLE_ACCESS_REFUSED',
      source: 'broker',
      cause,
    });
  }
  const during = state === 'starting' || state === 'idle' ? ' during the handshake' : '';
  return new ConnectionError(`the connection was lost${during}`, {
    code: 'CONNECTION_LOST',
    source: 'network',
    retryable: true,
    cause,
  });
}

function notAmqpError(chunk: Uint8Array): ConnectionError {
  const preview = String.fromCharCode(...chunk.subarray(0, 32)).replace(/[^\x20-\x7e]/g, '.');
  return new ConnectionError(`the server is not an AMQP 0-9-1 broker: it sent "${preview}"`, {
    code: 'SERVER_NOT_AMQP',
    source: 'broker',
  });
}

/** Shortens `text` to fit a short string of `maxBytes` UTF-8 bytes, marking the cut with `...`. */
function truncate(text: string, maxBytes: number): string {
  if (textEncoder.encode(text).length <= maxBytes) return text;
  let end = Math.min(text.length, maxBytes - 3);
  while (textEncoder.encode(text.slice(0, end)).length > maxBytes - 3) end--;
  return `${text.slice(0, end)}...`;
}
