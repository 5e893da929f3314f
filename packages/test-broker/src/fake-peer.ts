import type { Socket } from 'node:net';
import {
  type AnyMethod,
  type BasicProperties,
  ChannelCloseOk,
  ChannelOpenOk,
  ConnectionCloseOk,
  ConnectionOpenOk,
  ConnectionStart,
  type ConnectionStartFields,
  ConnectionTune,
  type DecodedBasicProperties,
  DEFAULT_FRAME_MAX,
  type FieldTable,
  FrameDecoder,
  FrameType,
  HEARTBEAT_FRAME,
  MethodId,
  PROTOCOL_HEADER,
  Reader,
  type TuneParameters,
  Writer,
  decodeMethod,
  encodeContentFrames,
  encodeMethodFrame,
  methodName,
  readBasicProperties,
} from '@warren/protocol';
import { type ReceivedFrame, describeFrame } from './frames.js';

/** Settings that each peer takes from its broker's options. */
export interface PeerSettings {
  tune: TuneParameters;
  mechanisms: string;
  serverProperties: FieldTable;
  autoRespond: boolean;
  heartbeats: boolean;
  /** Default time in milliseconds that `expect` waits. */
  timeout: number;
  /** Largest frame accepted from the client, in bytes, header and end octet included. */
  receiveFrameMax: number;
}

/** Options of `expect` and `expectContent`. */
export interface ExpectOptions {
  /** Channel the method must arrive on. Default: any channel. */
  channel?: number;
  /** Time in milliseconds to wait. Default: the broker's `timeout`. */
  timeout?: number;
}

/** A method received with its content header and body, such as a `basic.publish`. */
export interface ReceivedContent<M extends AnyMethod> {
  channel: number;
  method: M;
  properties: DecodedBasicProperties;
  body: Uint8Array;
}

/** The methods that the client sent during `handshake()`. */
export interface HandshakeResult {
  startOk: MethodOf<typeof MethodId.ConnectionStartOk>;
  tuneOk: MethodOf<typeof MethodId.ConnectionTuneOk>;
  open: MethodOf<typeof MethodId.ConnectionOpen>;
}

/** The generated method class whose `id` is `Id`. */
export type MethodOf<Id extends MethodId> = Extract<AnyMethod, { id: Id }>;

/** A frame as the peer records it. `autoReplied` is set once the auto-responder has run. */
interface RecordedFrame extends ReceivedFrame {
  autoReplied: boolean;
}

const PROTOCOL_HEADER_SIZE = PROTOCOL_HEADER.length;
/** Frames listed in an error message, so a failure shows what the client sent last. */
const HISTORY_LENGTH = 8;

/**
 * The broker side of one client connection.
 *
 * How it works: the first 8 bytes from the client must be the AMQP 0-9-1 protocol header.
 * Every later byte goes through Warren's `FrameDecoder`, and each frame is recorded in
 * `received`. Heartbeats are only recorded. Other frames also enter a queue that `expect`
 * reads in order. When `autoRespond` is on, the peer first replies to `channel.open`,
 * `channel.close` and `connection.close` and marks those frames. `expect` skips a marked frame
 * unless it is the method requested, so auto-replied frames never get in the way of a script,
 * and a script can still expect them.
 *
 * Malformed input from the client never throws out of a socket callback: the peer records the
 * error, ends the socket, ignores later bytes, and every waiting or later `expect` rejects with
 * that error.
 */
export class FakePeer {
  /** Number of the connection on its broker, from 1. */
  readonly id: number;
  /** Every frame from the client in arrival order, heartbeats and auto-replied frames included. */
  readonly received: ReceivedFrame[] = [];
  /** Whether to reply to `channel.open`, `channel.close` and `connection.close` automatically. */
  autoRespond: boolean;
  /** Resolves once the socket has closed, whichever side closed it. */
  readonly closed: Promise<void>;

  readonly #socket: Socket;
  readonly #settings: PeerSettings;
  readonly #writer = new Writer();
  readonly #decoder = new FrameDecoder();
  /** Bytes of the protocol header received so far, until all 8 have arrived. */
  #headerBytes = new Uint8Array(0);
  #protocolHeaderReceived = false;
  /** Frames that `expect` has not consumed yet, heartbeats excluded. */
  #unread: RecordedFrame[] = [];
  #inputError: Error | undefined;
  #socketClosed = false;
  #waiters = new Set<() => void>();
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #negotiatedFrameMax: number | undefined;

  /** @internal Created by `FakeBroker` for each accepted socket. */
  constructor(id: number, socket: Socket, settings: PeerSettings) {
    this.id = id;
    this.#socket = socket;
    this.#settings = settings;
    this.autoRespond = settings.autoRespond;
    this.#decoder.frameMax = settings.receiveFrameMax;

    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#handleData(chunk));
    // A client that resets the connection is a case under test, not a failure. 'close' follows.
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#socketClosed = true;
      this.stopHeartbeats();
      this.#wake();
    });
  }

  /** Whether the socket has closed. */
  get isClosed(): boolean {
    return this.#socketClosed;
  }

  /** The first malformed input from the client, such as a frame without its end octet. */
  get inputError(): Error | undefined {
    return this.#inputError;
  }

  /**
   * Runs the whole handshake with the broker's settings: waits for the protocol header, sends
   * `connection.start` and `connection.tune`, and replies to `connection.open` with `open-ok`.
   * @throws Error when the client sends something else or closes first, or a step times out.
   */
  async handshake(): Promise<HandshakeResult> {
    await this.expectProtocolHeader();
    this.sendStart();
    const startOk = await this.expect(MethodId.ConnectionStartOk, { channel: 0 });
    this.sendTune();
    const tuneOk = await this.expect(MethodId.ConnectionTuneOk, { channel: 0 });
    const open = await this.expect(MethodId.ConnectionOpen, { channel: 0 });
    this.send(0, new ConnectionOpenOk());
    return { startOk, tuneOk, open };
  }

  /**
   * Waits for the AMQP 0-9-1 protocol header.
   * @throws Error when the client sent other bytes, closed first, or `timeout` passed.
   */
  async expectProtocolHeader(timeout = this.#settings.timeout): Promise<void> {
    await this.#waitFor('the protocol header', timeout, () => (this.#protocolHeaderReceived ? true : undefined));
  }

  /**
   * Waits for the next method from the client and checks that it is `id`. Frames that the
   * auto-responder replied to are skipped unless they carry the method expected.
   * @throws Error naming the method expected and the frame received instead, or the time
   *   waited when `timeout` passes, or the reason when the client closed or sent malformed bytes.
   */
  async expect<Id extends MethodId>(id: Id, options: ExpectOptions = {}): Promise<MethodOf<Id>> {
    const frame = await this.#waitFor(describeExpected(id, options.channel), options.timeout ?? this.#settings.timeout, () =>
      this.#takeMethod(id, options.channel),
    );
    return frame.method as MethodOf<Id>;
  }

  /**
   * Waits for a method that carries content, such as `basic.publish`, then its content header
   * and body frames on the same channel.
   * @throws Error as `expect` does, and when the header or body frames are missing or malformed.
   */
  async expectContent<Id extends MethodId>(id: Id, options: ExpectOptions = {}): Promise<ReceivedContent<MethodOf<Id>>> {
    const timeout = options.timeout ?? this.#settings.timeout;
    const methodFrame = await this.#waitFor(describeExpected(id, options.channel), timeout, () => this.#takeMethod(id, options.channel));
    const channel = methodFrame.channel;

    const headerFrame = await this.#waitFor(`the content header of ${methodName(id)}`, timeout, () =>
      this.#takeContentFrame(FrameType.header, channel),
    );
    const reader = new Reader(headerFrame.payload);
    reader.uint16(); // class id
    reader.uint16(); // weight, unused in 0-9-1
    const bodySize = reader.uint64Number();
    const properties = readBasicProperties(reader);

    const body = new Uint8Array(bodySize);
    let filled = 0;
    while (filled < bodySize) {
      const bodyFrame = await this.#waitFor(`the content body of ${methodName(id)} (${filled} of ${bodySize} bytes received)`, timeout, () =>
        this.#takeContentFrame(FrameType.body, channel),
      );
      if (filled + bodyFrame.payload.length > bodySize) {
        throw new Error(`fake broker: content body frames of ${methodName(id)} exceed the announced body size of ${bodySize} bytes`);
      }
      body.set(bodyFrame.payload, filled);
      filled += bodyFrame.payload.length;
    }

    return { channel, method: methodFrame.method as MethodOf<Id>, properties, body };
  }

  /** Sends `connection.start` for AMQP 0-9-1 with the broker's mechanisms and server properties; `fields` override them. */
  sendStart(fields: Partial<ConnectionStartFields> = {}): void {
    const defaults: Partial<ConnectionStartFields> = {
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: this.#settings.serverProperties,
      mechanisms: this.#settings.mechanisms,
      locales: 'en_US',
    };
    this.send(0, ConnectionStart.from({ ...defaults, ...fields }));
  }

  /** Sends `connection.tune` with the broker's tune values; `values` override them. */
  sendTune(values: Partial<TuneParameters> = {}): void {
    this.send(0, ConnectionTune.from({ ...this.#settings.tune, ...values }));
  }

  /**
   * Sends one method frame. The frame is not checked against the negotiated frame_max, so a
   * test can send one that is too large.
   */
  send(channel: number, method: AnyMethod): void {
    this.sendRaw(encodeMethodFrame(this.#writer, channel, method));
  }

  /**
   * Sends a method with its content header and body, split into body frames of at most
   * `frameMax` bytes. `frameMax` defaults to the value the client sent in `tune-ok`, or to
   * the broker's tune value, or to 131072 when both are 0.
   */
  sendContent(channel: number, method: AnyMethod, properties: BasicProperties, body: Uint8Array, frameMax?: number): void {
    const chunks: Uint8Array[] = [];
    const limit = frameMax || this.#negotiatedFrameMax || this.#settings.tune.frameMax || DEFAULT_FRAME_MAX;
    encodeContentFrames(this.#writer, channel, method, 60, properties, body, limit, chunks);

    this.#socket.cork();
    for (const chunk of chunks) this.sendRaw(chunk);
    this.#socket.uncork();
  }

  /**
   * Writes bytes to the client as they are. Bytes written after the socket closed are dropped,
   * because a script may go on after the client hung up.
   */
  sendRaw(bytes: Uint8Array): void {
    if (this.#socket.destroyed || this.#socket.writableEnded) return;
    this.#socket.write(bytes);
  }

  /** Sends a heartbeat frame every `intervalMs` milliseconds until the socket closes or `stopHeartbeats()`. */
  startHeartbeats(intervalMs: number): void {
    this.stopHeartbeats();
    this.#heartbeatTimer = setInterval(() => this.sendRaw(HEARTBEAT_FRAME), intervalMs);
    this.#heartbeatTimer.unref();
  }

  stopHeartbeats(): void {
    clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = undefined;
  }

  /** Ends the socket after the bytes already written, as a broker that hangs up does. */
  close(): void {
    this.stopHeartbeats();
    this.#socket.end();
  }

  /** Destroys the socket at once, discarding bytes not yet written. */
  destroy(): void {
    this.stopHeartbeats();
    this.#socket.destroy();
  }

  #handleData(chunk: Uint8Array): void {
    try {
      this.#receive(chunk);
    } catch (error) {
      this.#rejectInput(error instanceof Error ? error : new Error(String(error)));
    }
    this.#wake();
  }

  #receive(chunk: Uint8Array): void {
    if (this.#inputError !== undefined) return;

    let rest = chunk;
    if (!this.#protocolHeaderReceived) {
      rest = this.#receiveProtocolHeader(chunk);
      if (rest.length === 0) return;
    }

    this.#decoder.push(rest);
    for (let frame = this.#decoder.next(); frame !== undefined; frame = this.#decoder.next()) {
      this.#record(frame.type, frame.channel, frame.payload);
    }
  }

  /** Stores protocol header bytes and returns the rest of the chunk, which starts the first frame. */
  #receiveProtocolHeader(chunk: Uint8Array): Uint8Array {
    const count = Math.min(PROTOCOL_HEADER_SIZE - this.#headerBytes.length, chunk.length);
    const header = new Uint8Array(this.#headerBytes.length + count);
    header.set(this.#headerBytes);
    header.set(chunk.subarray(0, count), this.#headerBytes.length);
    this.#headerBytes = header;
    if (header.length < PROTOCOL_HEADER_SIZE) return chunk.subarray(count);

    if (!header.every((byte, index) => byte === PROTOCOL_HEADER[index])) {
      // AMQP 0-9-1 section 4.2.2: a server that rejects the protocol header sends its own and closes.
      this.sendRaw(PROTOCOL_HEADER);
      throw new Error(`fake broker: the client sent ${hex(header)} instead of the AMQP 0-9-1 protocol header ${hex(PROTOCOL_HEADER)}`);
    }
    this.#protocolHeaderReceived = true;
    return chunk.subarray(count);
  }

  #record(type: number, channel: number, payload: Uint8Array): void {
    const copy = payload.slice();
    let method: AnyMethod | undefined;
    let decodeError: Error | undefined;
    if (type === FrameType.method) {
      try {
        method = decodeMethod(new Reader(copy));
      } catch (error) {
        decodeError = error instanceof Error ? error : new Error(String(error));
      }
    }
    const frame: RecordedFrame = { type, channel, payload: copy, method, decodeError, autoReplied: false };
    this.received.push(frame);
    if (type === FrameType.heartbeat) return;

    if (method?.id === MethodId.ConnectionTuneOk) {
      this.#negotiatedFrameMax = method.frameMax;
      if (this.#settings.heartbeats && method.heartbeat > 0) this.startHeartbeats(method.heartbeat * 1000);
    }
    if (this.autoRespond && method !== undefined) frame.autoReplied = this.#reply(channel, method);
    this.#unread.push(frame);
  }

  /** Replies to the methods that a script rarely cares about, and returns whether it replied. */
  #reply(channel: number, method: AnyMethod): boolean {
    switch (method.id) {
      case MethodId.ChannelOpen:
        this.send(channel, new ChannelOpenOk());
        return true;
      case MethodId.ChannelClose:
        this.send(channel, new ChannelCloseOk());
        return true;
      case MethodId.ConnectionClose:
        // RabbitMQ closes the socket after sending close-ok.
        this.send(0, new ConnectionCloseOk());
        this.close();
        return true;
      default:
        return false;
    }
  }

  /**
   * Removes and returns the frame carrying method `id`, skipping auto-replied frames before it.
   * Returns undefined while no such frame has arrived.
   */
  #takeMethod(id: MethodId, channel: number | undefined): RecordedFrame | undefined {
    for (let index = 0; index < this.#unread.length; index++) {
      const frame = this.#unread[index]!;
      if (frame.method?.id === id && (channel === undefined || frame.channel === channel)) {
        this.#unread.splice(0, index + 1);
        return frame;
      }
      if (!frame.autoReplied) {
        throw new Error(`fake broker: expected ${describeExpected(id, channel)} from the client, but the next frame is ${describeFrame(frame)}`);
      }
    }
    return undefined;
  }

  /** Removes and returns the next content header or body frame on `channel`, skipping auto-replied frames. */
  #takeContentFrame(type: number, channel: number): RecordedFrame | undefined {
    for (let index = 0; index < this.#unread.length; index++) {
      const frame = this.#unread[index]!;
      if (frame.type === type && frame.channel === channel) {
        this.#unread.splice(index, 1);
        return frame;
      }
      if (!frame.autoReplied) {
        const expected = type === FrameType.header ? 'a content header' : 'a content body';
        throw new Error(`fake broker: expected ${expected} on channel ${channel}, but the next frame is ${describeFrame(frame)}`);
      }
    }
    return undefined;
  }

  /**
   * Resolves with the first value that `take` returns, calling it now and after each change:
   * new frames, malformed input or the socket closing.
   */
  #waitFor<T>(description: string, timeout: number, take: () => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(attempt);
      };
      const attempt = (): void => {
        let value: T | undefined;
        try {
          value = take();
        } catch (error) {
          settle();
          reject(error);
          return;
        }
        if (value !== undefined) {
          settle();
          resolve(value);
          return;
        }

        const ended = this.#endedError(description);
        if (ended === undefined) return;
        settle();
        reject(ended);
      };

      const timer = setTimeout(() => {
        settle();
        reject(new Error(`fake broker: timed out after ${timeout} ms waiting for ${description}. ${this.#history()}`));
      }, timeout);
      this.#waiters.add(attempt);
      attempt();
    });
  }

  /** Returns why nothing more can arrive, or undefined while the connection can still deliver frames. */
  #endedError(description: string): Error | undefined {
    if (this.#inputError !== undefined) {
      return new Error(`fake broker: cannot wait for ${description}: ${this.#inputError.message}`, { cause: this.#inputError });
    }
    if (this.#socketClosed) {
      return new Error(`fake broker: the connection closed before the client sent ${description}. ${this.#history()}`);
    }
    return undefined;
  }

  /** Records malformed input and ends the socket after the bytes already written, such as our protocol header. */
  #rejectInput(error: Error): void {
    this.#inputError ??= error;
    this.close();
  }

  #wake(): void {
    for (const attempt of [...this.#waiters]) attempt();
  }

  #history(): string {
    const frames = this.received.filter((frame) => frame.type !== FrameType.heartbeat);
    if (frames.length === 0) return 'No frame received so far.';
    const recent = frames.slice(-HISTORY_LENGTH).map(describeFrame).join(', ');
    const earlier = frames.length > HISTORY_LENGTH ? `${frames.length - HISTORY_LENGTH} earlier frames, then ` : '';
    return `Frames received so far: ${earlier}${recent}.`;
  }
}

function describeExpected(id: MethodId, channel: number | undefined): string {
  return channel === undefined ? methodName(id) : `${methodName(id)} on channel ${channel}`;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join(' ');
}
