import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { DEFAULT_CHANNEL_MAX, DEFAULT_FRAME_MAX, type FieldTable, type TuneParameters } from '@warren/protocol';
import { FakePeer, type PeerSettings } from './fake-peer.js';

/** Options of `FakeBroker.start()`. */
export interface FakeBrokerOptions {
  /**
   * Values sent in `connection.tune`, where 0 means no limit (or no heartbeat). Default:
   * channelMax 2047, frameMax 131072, heartbeat 0.
   */
  tune?: Partial<TuneParameters>;
  /** SASL mechanisms offered in `connection.start`, separated by spaces. Default: `PLAIN AMQPLAIN`. */
  mechanisms?: string;
  /** Server properties sent in `connection.start`. */
  serverProperties?: FieldTable;
  /**
   * Whether each peer replies to `channel.open` with `open-ok`, to `channel.close` with
   * `close-ok`, and to `connection.close` with `close-ok` before it closes the socket. Default: true.
   */
  autoRespond?: boolean;
  /** Whether each peer sends heartbeats at the interval the client accepted in `tune-ok`. Default: false. */
  heartbeats?: boolean;
  /** Time in milliseconds that `expect` and `nextPeer` wait by default. Default: 2000. */
  timeout?: number;
  /**
   * Largest frame accepted from the client, in bytes, header and end octet included. A larger
   * frame is malformed input. Default: 2^32 - 1, so any frame_max the client may negotiate fits.
   */
  receiveFrameMax?: number;
}

/** Code that plays the broker's side of one connection. */
export type ConnectionScript = (peer: FakePeer) => void | Promise<void>;

const DEFAULT_TIMEOUT = 2000;
const FRAME_MAX_LIMIT = 0xffffffff;
const DEFAULT_SERVER_PROPERTIES: FieldTable = {
  product: 'Warren fake broker',
  capabilities: {
    publisher_confirms: true,
    'basic.nack': true,
    consumer_cancel_notify: true,
    'connection.blocked': true,
    authentication_failure_close: true,
  },
};

/**
 * A fake AMQP 0-9-1 broker on 127.0.0.1 for tests, built on Warren's own codec. It does what
 * RabbitMQ will not do on demand: go silent, close during the handshake, send challenges,
 * flow control, malformed or oversized frames, and frames for channels that are not open.
 *
 * Each accepted socket becomes a `FakePeer`. A test scripts it either with `onConnection`,
 * which runs a script for every connection, or inline with `await broker.nextPeer()`.
 *
 * ```ts
 * const broker = await FakeBroker.start({ tune: { heartbeat: 1 } });
 * broker.onConnection((peer) => peer.handshake());
 * const connection = await connect(broker.url);
 * await broker.stop();
 * ```
 */
export class FakeBroker {
  /** TCP port on 127.0.0.1. */
  readonly port: number;

  readonly #server: Server;
  readonly #settings: PeerSettings;
  #peers: FakePeer[] = [];
  /** Peers already returned by `nextPeer`. */
  #taken = 0;
  #peerWaiters = new Set<() => void>();
  #script: ConnectionScript | undefined;
  #scripts: Promise<void>[] = [];
  #scriptErrors: unknown[] = [];
  #stopping = false;

  private constructor(server: Server, settings: PeerSettings) {
    this.#server = server;
    this.#settings = settings;
    this.port = (server.address() as AddressInfo).port;
    server.on('connection', (socket) => this.#accept(socket));
  }

  /** Starts a broker on a free port of 127.0.0.1. */
  static async start(options: FakeBrokerOptions = {}): Promise<FakeBroker> {
    const settings: PeerSettings = {
      tune: { channelMax: DEFAULT_CHANNEL_MAX, frameMax: DEFAULT_FRAME_MAX, heartbeat: 0, ...options.tune },
      mechanisms: options.mechanisms ?? 'PLAIN AMQPLAIN',
      serverProperties: options.serverProperties ?? DEFAULT_SERVER_PROPERTIES,
      autoRespond: options.autoRespond ?? true,
      heartbeats: options.heartbeats ?? false,
      timeout: options.timeout ?? DEFAULT_TIMEOUT,
      receiveFrameMax: options.receiveFrameMax ?? FRAME_MAX_LIMIT,
    };

    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new FakeBroker(server, settings);
  }

  /** URL for `connect()`, with the credentials guest:guest and the default vhost. */
  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  /** Every connection accepted so far, in order. */
  get peers(): readonly FakePeer[] {
    return this.#peers;
  }

  /**
   * Runs `script` for each connection accepted from now on. A script that throws or rejects
   * destroys its connection, and `stop()` reports the error.
   */
  onConnection(script: ConnectionScript): void {
    this.#script = script;
  }

  /**
   * Resolves with the next accepted connection that no earlier call returned, in accept order,
   * whether or not an `onConnection` script also runs for it.
   * @throws Error when no client connects within `timeout` milliseconds or the broker stops.
   */
  nextPeer(timeout = this.#settings.timeout): Promise<FakePeer> {
    return new Promise<FakePeer>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        this.#peerWaiters.delete(attempt);
      };
      const attempt = (): void => {
        const peer = this.#peers[this.#taken];
        if (peer !== undefined) {
          this.#taken++;
          settle();
          resolve(peer);
          return;
        }
        if (!this.#stopping) return;
        settle();
        reject(new Error('fake broker: stopped while waiting for a client to connect'));
      };

      const timer = setTimeout(() => {
        settle();
        reject(new Error(`fake broker: no client connected to port ${this.port} within ${timeout} ms`));
      }, timeout);
      this.#peerWaiters.add(attempt);
      attempt();
    });
  }

  /**
   * Destroys every connection, stops listening and waits for the scripts to finish.
   * @throws AggregateError with each error that a script raised before `stop()` was called.
   *   Errors that destroying the connections causes are ignored.
   */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    const scriptErrors = [...this.#scriptErrors];

    for (const peer of this.#peers) peer.destroy();
    for (const attempt of [...this.#peerWaiters]) attempt();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await Promise.allSettled(this.#scripts);

    if (scriptErrors.length > 0) {
      throw new AggregateError(scriptErrors, `fake broker: ${scriptErrors.length} connection script(s) failed`);
    }
  }

  #accept(socket: Socket): void {
    if (this.#stopping) {
      socket.destroy();
      return;
    }

    const peer = new FakePeer(this.#peers.length + 1, socket, this.#settings);
    this.#peers.push(peer);
    const script = this.#script;
    if (script !== undefined) this.#scripts.push(this.#run(peer, script));
    for (const attempt of [...this.#peerWaiters]) attempt();
  }

  async #run(peer: FakePeer, script: ConnectionScript): Promise<void> {
    try {
      await script(peer);
    } catch (error) {
      if (this.#stopping) return;
      this.#scriptErrors.push(error);
      peer.destroy();
    }
  }
}
