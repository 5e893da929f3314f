import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { InspectOptions, inspect } from 'node:util';
import { type AmqpError, ConnectionEngine, ConnectionError, type FieldTable } from '@warren/protocol';
import { INSPECT_CUSTOM } from './builtins.js';
import { Channel } from './channel.js';
import { connectToEndpoints } from './endpoints.js';
import { FrameTracer } from './frame-trace.js';
import { type Log, createLog } from './logger.js';
import { type ConnectOptions, type ConnectPlan, type Endpoint, type ResolvedOptions, resolveOptions } from './options.js';
import { connectFailedError, connectionTimeoutError, openTransport, socketTimeoutError, tlsHandshakeError } from './transport.js';
import { PRODUCT } from './version.js';
import { DEFAULT_FLUSH_THRESHOLD, WriteBatcher } from './write-batcher.js';

/** Time in milliseconds that a closing socket waits for the broker to close its side. */
const SOCKET_LINGER_MS = 1000;

/** Events of a `Connection`. */
export interface ConnectionEvents {
  /** The connection ended; `error` is undefined when the client closed it. */
  close: [error: AmqpError | undefined];
  /** The broker stopped accepting publishes, for example on a memory alarm. */
  blocked: [reason: string];
  /** The broker accepts publishes again. */
  unblocked: [];
}

/**
 * Opens a connection to a broker and completes the AMQP handshake.
 *
 * With several endpoints, `connect()` tries them in order and resolves with the first
 * connection that opens. It makes up to `connectionAttempts` rounds over the list, with
 * `retryDelay` ms between rounds. Each attempt has `socketTimeout` ms for TCP and
 * `connectionTimeout` ms for TCP, TLS and the AMQP handshake together. Refused credentials or
 * a refused vhost end the attempts at once, because every node of a cluster would refuse them.
 *
 * ```ts
 * await connect('amqps://user:password@rabbit.example.com/orders');
 * await connect(['amqp://node-1', 'amqp://node-2']);
 * await connect({ endpoints: ['amqp://node-1', { hostname: 'node-2', port: 5673 }], connectionAttempts: 3 });
 * ```
 *
 * @param target a URL (see `parseUrl`), a list of endpoints, or options; default
 *   `amqp://guest:guest@127.0.0.1:5672`.
 * @throws ConnectionError `INVALID_URL`, `INVALID_OPTION` or `TLS_FILE_UNREADABLE` before any
 *   attempt. When there was one attempt, or an attempt failed with `AUTHENTICATION_FAILED`,
 *   `PROBABLE_AUTHENTICATION_FAILURE`, `VHOST_ACCESS_REFUSED`, `PROBABLE_ACCESS_REFUSED` or
 *   `INVALID_OPTION`, the error of that attempt, such as `CONNECT_FAILED`, `CONNECT_TIMEOUT`
 *   or `TLS_HANDSHAKE_FAILED`. Otherwise a `ConnectAttemptsError` (`CONNECT_FAILED`) whose
 *   message and `attempts` list each endpoint tried and why it failed.
 */
export function connect(target?: string | readonly Endpoint[] | ConnectOptions): Promise<Connection> {
  let plan: ConnectPlan;
  try {
    plan = resolveOptions(target);
  } catch (error) {
    return Promise.reject(error);
  }
  return connectToEndpoints(plan, (options) => {
    return new Promise<Connection>((resolve, reject) => {
      new Connection(options, { resolve, reject });
    });
  });
}

interface Opening {
  resolve(connection: Connection): void;
  reject(error: unknown): void;
}

/**
 * A connection to the broker over TCP or TLS.
 *
 * It emits `close` once, `blocked` and `unblocked`. It never emits `error`: failures reject the
 * pending promises and reach `close` listeners.
 */
export class Connection extends EventEmitter<ConnectionEvents> {
  readonly #engine: ConnectionEngine;
  readonly #socket: Socket;
  readonly #output: WriteBatcher;
  readonly #options: ResolvedOptions;
  readonly #log: Log;
  readonly #tracer: FrameTracer | undefined;
  #opening: Opening | undefined;
  #socketTimer: NodeJS.Timeout | undefined;
  #connectTimer: NodeJS.Timeout | undefined;
  #tickTimer: NodeJS.Timeout | undefined;
  #tickAt: number | undefined;
  #blocked = false;
  #drainWaiters: (() => void)[] = [];
  #socketError: Error | undefined;
  /** Whether the TCP connection opened, so a socket error is no longer a connect failure. */
  #connected = false;
  /** Whether the TCP connection, and TLS if used, are ready for AMQP. */
  #ready = false;
  #opened = false;
  #closed: Promise<AmqpError | undefined>;
  #resolveClosed!: (error: AmqpError | undefined) => void;

  /** @internal Use `connect()`. */
  constructor(options: ResolvedOptions, opening: Opening) {
    super();
    this.#options = options;
    this.#log = createLog(options.logger);
    this.#tracer = options.frameTrace === undefined ? undefined : new FrameTracer(options.frameTrace);
    this.#opening = opening;
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });

    this.#engine = new ConnectionEngine(
      {
        mechanism: options.mechanism,
        vhost: options.vhost,
        heartbeat: options.heartbeat,
        frameMax: options.frameMax,
        channelMax: options.channelMax,
        maxMessageSize: options.maxMessageSize,
        blockedConnectionTimeout: options.blockedConnectionTimeout,
        closeTimeout: options.closeTimeout,
        connectionName: options.connectionName,
        product: PRODUCT,
        platform: `Node.js ${process.version}`,
      },
      {
        send: (chunk) => this.#write(chunk),
        onOpen: () => this.#handleOpen(),
        onClose: (error) => this.#handleClose(error),
        onBlocked: (reason) => {
          this.#blocked = true;
          this.#log.warn(`the broker blocked publishing on ${options.endpoint}: ${reason}`, { endpoint: options.endpoint, reason });
          this.emit('blocked', reason);
        },
        // Node's pool serves small bodies, so a copied body rarely needs an allocation of its own.
        allocate: (size) => Buffer.allocUnsafe(size),
        onUnblocked: () => {
          this.#blocked = false;
          this.#log.info(`the broker unblocked publishing on ${options.endpoint}`, { endpoint: options.endpoint });
          this.emit('unblocked');
        },
      },
    );

    const { socket, readyEvent } = openTransport(options, (chunk, chunkReused) => {
      this.#tracer?.incoming(chunk, this.#engine.frameMax, chunkReused);
      this.#engine.receive(chunk, performance.now(), chunkReused);
      this.#scheduleTick();
    });
    this.#socket = socket;
    this.#output = new WriteBatcher(socket, DEFAULT_FLUSH_THRESHOLD, (chunk) => this.#engine.writer.release(chunk));
    this.#socketTimer = setTimeout(() => this.#handleTimeout(socketTimeoutError(options)), options.socketTimeout);
    this.#connectTimer = setTimeout(() => this.#handleTimeout(connectionTimeoutError(options)), options.connectionTimeout);
    socket.once('connect', () => {
      this.#connected = true;
      clearTimeout(this.#socketTimer);
    });
    socket.once(readyEvent, () => {
      this.#ready = true;
      this.#logUnverifiedCertificate();
      this.#engine.start(performance.now());
    });
    socket.on('drain', () => {
      this.#output.releaseWritten();
      this.#releaseDrainWaiters();
    });
    socket.on('error', (error) => {
      this.#socketError = error;
      if (!this.#connected) this.#engine.fail(connectFailedError(options, error));
      else if (!this.#ready) this.#engine.fail(tlsHandshakeError(options, error));
    });
    socket.on('close', () => {
      this.#engine.transportClosed(this.#socketError);
      this.#releaseDrainWaiters();
    });
  }

  /** The endpoint of this connection as a URL without the password, such as `amqp://guest@127.0.0.1:5672/%2F`. */
  get endpoint(): string {
    return this.#options.endpoint;
  }

  /** Properties that the broker sent in `connection.start`, including its `capabilities`. */
  get serverProperties(): FieldTable {
    return this.#engine.serverProperties;
  }

  /** Negotiated heartbeat interval in seconds, frame size limit in bytes, and highest channel number. */
  get tune(): { heartbeat: number; frameMax: number; channelMax: number } {
    return { ...this.#engine.tune };
  }

  /** Bytes written to the socket that it has not sent yet. */
  get bufferedAmount(): number {
    return this.#socket.writableLength + this.#output.pendingBytes;
  }

  /** Whether the broker currently blocks publishing on this connection. */
  get blocked(): boolean {
    return this.#blocked;
  }

  /** Whether the connection is open and can open channels. */
  get isOpen(): boolean {
    return this.#engine.state === 'open';
  }

  /** Resolves once the connection has ended, with the error that ended it or undefined; never rejects. */
  get closed(): Promise<AmqpError | undefined> {
    return this.#closed;
  }

  /** Opens a channel. */
  channel(): Promise<Channel> {
    return new Promise<Channel>((resolve, reject) => {
      const channel = new Channel(this);
      this.#engine.openChannel(channel.handler, {
        resolve: (engine) => {
          channel.attach(engine);
          resolve(channel);
        },
        reject,
      });
    });
  }

  /**
   * Closes the connection and every channel on it. Requests still pending reject with a
   * `CONNECTION_CLOSED` error. Resolves once the broker confirms, or at once when the connection
   * has already ended.
   */
  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#engine.close({ resolve, reject: () => resolve() });
      this.#scheduleTick();
    });
  }

  /**
   * Replaces the secret that the connection authenticated with, such as an expiring OAuth 2
   * token (`connection.update-secret`, a RabbitMQ extension). Resolves once the broker accepts it.
   */
  updateSecret(newSecret: string, reason = 'secret update'): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#engine.updateSecret(newSecret, reason, { resolve, reject });
    });
  }

  /** @internal Resolves once the socket can take more bytes. */
  waitForDrain(): Promise<void> | undefined {
    if (!this.#socket.writableNeedDrain || this.#socket.destroyed) return undefined;
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** @internal */
  get engine(): ConnectionEngine {
    return this.#engine;
  }

  /** Shows only the endpoint and state, so the password and the socket stay out of logs and the REPL. */
  [INSPECT_CUSTOM](_depth: number, options: InspectOptions, inspectValue: typeof inspect): string {
    const state = { endpoint: this.endpoint, state: this.#engine.state, blocked: this.#blocked };
    return `Connection ${inspectValue(state, options)}`;
  }

  #write(chunk: Uint8Array): void {
    if (this.#socket.destroyed) return;
    this.#tracer?.outgoing(chunk);
    this.#output.write(chunk);
  }

  #handleOpen(): void {
    clearTimeout(this.#connectTimer);
    this.#opened = true;
    const { heartbeat, frameMax, channelMax } = this.#engine.tune;
    this.#log.info(`connected to ${this.endpoint}`, { endpoint: this.endpoint, heartbeat, frameMax, channelMax });
    this.#scheduleTick();
    const opening = this.#opening;
    this.#opening = undefined;
    opening?.resolve(this);
  }

  #handleClose(error: AmqpError | undefined): void {
    clearTimeout(this.#socketTimer);
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#tickTimer);
    this.#tickTimer = undefined;
    this.#logClose(error);
    if (error?.source === 'network') {
      this.#output.discard();
      this.#socket.destroy();
    } else if (!this.#socket.destroyed) {
      // Let the close or close-ok frame go out; the broker then closes its side.
      this.#output.flush();
      this.#socket.end();
      setTimeout(() => this.#socket.destroy(), SOCKET_LINGER_MS).unref();
    }

    const opening = this.#opening;
    this.#opening = undefined;
    if (opening !== undefined) {
      opening.reject(
        error ?? new ConnectionError('the connection was closed before the handshake completed', { code: 'CONNECTION_CLOSED', source: 'client' }),
      );
    }
    this.#resolveClosed(error);
    this.emit('close', error);
  }

  #handleTimeout(error: AmqpError): void {
    this.#engine.fail(error);
    this.#socket.destroy();
  }

  /** Logs the end of an open connection. `connect()` logs a failed attempt itself. */
  #logClose(error: AmqpError | undefined): void {
    if (!this.#opened) return;
    if (error === undefined) this.#log.info(`closed the connection to ${this.endpoint}`, { endpoint: this.endpoint });
    else this.#log.error(`the connection to ${this.endpoint} ended: ${error.message}`, { endpoint: this.endpoint, code: error.code });
  }

  /** Logs at debug level that the broker's certificate was accepted without verification, as `rejectUnauthorized: false` requests. */
  #logUnverifiedCertificate(): void {
    const socket = this.#socket as Socket & { authorized?: boolean; authorizationError?: Error };
    if (this.#options.tls === undefined || socket.authorized !== false) return;
    this.#log.debug(`TLS certificate of ${this.endpoint} not verified: ${String(socket.authorizationError)}`, { endpoint: this.endpoint });
  }

  #scheduleTick(): void {
    const at = this.#engine.nextTimerAt;
    if (at === this.#tickAt) return;
    clearTimeout(this.#tickTimer);
    this.#tickAt = at;
    if (at === undefined) {
      this.#tickTimer = undefined;
      return;
    }
    this.#tickTimer = setTimeout(() => {
      this.#tickAt = undefined;
      this.#engine.tick(performance.now());
      this.#scheduleTick();
    }, Math.max(0, at - performance.now()));
    this.#tickTimer.unref();
  }

  #releaseDrainWaiters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
