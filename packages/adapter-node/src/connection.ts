import { EventEmitter } from 'node:events';
import { type NetConnectOpts, connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  type AmqpError,
  ConnectionEngine,
  ConnectionError,
  type FieldTable,
  plainMechanism,
} from '@warren/protocol';
import { Channel } from './channel.js';
import { type ConnectOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { PRODUCT } from './version.js';

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
 * @param target a URL such as `amqp://user:password@host:5672/vhost`, or options; default
 *   `amqp://guest:guest@127.0.0.1:5672`.
 * @throws ConnectionError when the URL or an option is invalid, the TCP connection fails, the
 *   broker refuses the credentials or the virtual host, or the handshake exceeds
 *   `connectionTimeout`.
 */
export function connect(target?: string | ConnectOptions): Promise<Connection> {
  let options: ResolvedOptions;
  try {
    options = resolveOptions(target);
  } catch (error) {
    return Promise.reject(error);
  }
  return new Promise<Connection>((resolve, reject) => {
    new Connection(options, { resolve, reject });
  });
}

interface Opening {
  resolve(connection: Connection): void;
  reject(error: unknown): void;
}

/**
 * A connection to the broker over TCP.
 *
 * It emits `close` once, `blocked` and `unblocked`. It never emits `error`: failures reject the
 * pending promises and reach `close` listeners.
 */
export class Connection extends EventEmitter<ConnectionEvents> {
  readonly #engine: ConnectionEngine;
  readonly #socket: Socket;
  readonly #options: ResolvedOptions;
  #opening: Opening | undefined;
  #connectTimer: NodeJS.Timeout | undefined;
  #tickTimer: NodeJS.Timeout | undefined;
  #tickAt: number | undefined;
  #corked = false;
  #blocked = false;
  #drainWaiters: (() => void)[] = [];
  #socketError: Error | undefined;
  #connected = false;
  #closed: Promise<AmqpError | undefined>;
  #resolveClosed!: (error: AmqpError | undefined) => void;

  /** @internal Use `connect()`. */
  constructor(options: ResolvedOptions, opening: Opening) {
    super();
    this.#options = options;
    this.#opening = opening;
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });

    this.#engine = new ConnectionEngine(
      {
        mechanism: plainMechanism(options.username, options.password),
        vhost: options.vhost,
        heartbeat: options.heartbeat,
        frameMax: options.frameMax,
        channelMax: options.channelMax,
        maxMessageSize: options.maxMessageSize,
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
          this.emit('blocked', reason);
        },
        onUnblocked: () => {
          this.#blocked = false;
          this.emit('unblocked');
        },
      },
    );

    this.#socket = netConnect({
      host: options.hostname,
      port: options.port,
      noDelay: true,
      writableHighWaterMark: options.writeHighWaterMark,
    } as NetConnectOpts);
    this.#connectTimer = setTimeout(() => this.#handleConnectTimeout(), options.connectionTimeout);
    this.#socket.once('connect', () => {
      this.#connected = true;
      this.#engine.start(performance.now());
    });
    this.#socket.on('data', (chunk: Buffer) => {
      this.#engine.receive(chunk, performance.now());
      this.#scheduleTick();
    });
    this.#socket.on('drain', () => this.#releaseDrainWaiters());
    this.#socket.on('error', (error) => {
      this.#socketError = error;
      if (!this.#connected) this.#engine.fail(connectFailedError(options, error));
    });
    this.#socket.on('close', () => {
      this.#engine.transportClosed(this.#socketError);
      this.#releaseDrainWaiters();
    });
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
    return this.#socket.writableLength;
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

  /** @internal Resolves once the socket can take more bytes. */
  waitForDrain(): Promise<void> | undefined {
    if (!this.#socket.writableNeedDrain || this.#socket.destroyed) return undefined;
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** @internal */
  get engine(): ConnectionEngine {
    return this.#engine;
  }

  #write(chunk: Uint8Array): void {
    if (this.#socket.destroyed) return;
    // Writes issued in one turn of the event loop leave the socket together in one writev.
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.#socket.uncork();
      });
    }
    this.#socket.write(chunk);
  }

  #handleOpen(): void {
    clearTimeout(this.#connectTimer);
    this.#scheduleTick();
    const opening = this.#opening;
    this.#opening = undefined;
    opening?.resolve(this);
  }

  #handleClose(error: AmqpError | undefined): void {
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#tickTimer);
    this.#tickTimer = undefined;
    if (error?.source === 'network') {
      this.#socket.destroy();
    } else if (!this.#socket.destroyed) {
      // Let the close or close-ok frame go out; the broker then closes its side.
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

  #handleConnectTimeout(): void {
    const error = new ConnectionError(
      `no AMQP connection to ${this.#options.hostname}:${this.#options.port} within ${this.#options.connectionTimeout} ms`,
      { code: 'CONNECT_TIMEOUT', source: 'network', retryable: true },
    );
    this.#engine.fail(error);
    this.#socket.destroy();
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

function connectFailedError(options: ResolvedOptions, cause: Error): ConnectionError {
  return new ConnectionError(`could not connect to ${options.hostname}:${options.port}: ${cause.message}`, {
    code: 'CONNECT_FAILED',
    source: 'network',
    retryable: true,
    cause,
  });
}
