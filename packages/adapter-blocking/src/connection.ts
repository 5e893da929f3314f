import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { type ConnectOptions, type Endpoint, type FrameTraceCallback, type Logger, rebuildError } from '@warren/adapter-node';
import {
  type AmqpError,
  ConnectionClosedByClientError,
  ConnectionError,
  type ErrorRecord,
  type FieldTable,
  InvalidArgumentError,
} from '@warren/protocol';
import { BlockingChannel } from './channel.js';
import { Fifo } from './fifo.js';
import { Scheduler, secondsToMs, type TimerId } from './scheduler.js';
import {
  type CallTarget,
  PUBLISH_OVERHEAD,
  ALIVE,
  PUBLISHES_WRITTEN,
  type Request,
  SHARED_SLOTS,
  SIGNAL,
  WORKER_STARTED,
  type WorkerMessage,
  type WorkerStart,
} from './wire.js';

/** The broker to connect to: a URL, a list of endpoints, or options, as `connect()` of `@warren/adapter-node` takes. */
export type ConnectTarget = string | readonly Endpoint[] | ConnectOptions;

/** Time in milliseconds that the I/O thread has to load before the constructor gives up. */
const WORKER_START_TIMEOUT_MS = 10_000;
/**
 * Time in milliseconds without a sign of life from the I/O thread after which a waiting call
 * fails with `IO_THREAD_FAILED`. The thread shows life twice a second while idle and with each
 * request, so only a thread that has died, such as one out of memory, stays silent this long.
 */
const IO_THREAD_SILENCE_MS = 30_000;
/** Maximum duration of one `Atomics.wait`, after which a waiting call checks that the I/O thread lives. */
const WAIT_SLICE_MS = 1000;
/** Time in milliseconds that a connection left open waits for the broker's close-ok at process exit. */
const EXIT_CLOSE_TIMEOUT_MS = 1000;
/**
 * Bytes of pipelined publishes that may wait for the I/O thread before `basicPublish` blocks.
 * Each message counts its body plus `PUBLISH_OVERHEAD`, so many small messages are bounded too.
 */
const MAX_PUBLISH_BYTES_IN_FLIGHT = 1024 * 1024;

const WORKER_URL = new URL('./io-worker.js', import.meta.url);

/** Something for `processDataEvents` to run: a callback, or an event to hand to a channel. */
type Dispatch = () => void;

/**
 * A connection to the broker with a synchronous API, in the shape of Pika's
 * `BlockingConnection`.
 *
 * How it works: the socket and the protocol run on a worker thread, which owns an
 * `@warren/adapter-node` connection. Each method posts a request to it and waits in
 * `Atomics.wait` for the reply, so calls block the calling thread but never the I/O: heartbeats
 * keep flowing however long the calling thread is busy. Deliveries, returns and blocked
 * notifications wait in a queue until `processDataEvents`, `sleep`, `startConsuming` or the
 * `consume` generator dispatches them, so callbacks run only at those points.
 *
 * A script that never calls `close()` still exits when its work is done: the I/O thread does
 * not keep the process alive, and at exit an open connection is closed, waiting at most one
 * second for the broker.
 */
export class BlockingConnection {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #shared: Int32Array;
  readonly #logger: Logger | undefined;
  readonly #frameTrace: FrameTraceCallback | undefined;
  #closeError: AmqpError | undefined;
  #closed = false;
  #nextRequestId = 0;
  readonly #channels = new Map<number, BlockingChannel>();
  readonly #dispatchQueue = new Fifo<Dispatch>();
  readonly #scheduler = new Scheduler();
  #dispatching = false;
  #publishBytesPosted = 0;
  readonly #blockedCallbacks: ((reason: string) => void)[] = [];
  readonly #unblockedCallbacks: (() => void)[] = [];
  #blocked = false;
  /** Events taken in from the I/O thread, so `processDataEvents` can tell that one arrived. */
  #eventCount = 0;
  /** Value of `SIGNAL` when the port was last drained outside a wait. */
  #signalSeen = 0;
  /** Last value of `ALIVE`, and when it changed, in `performance.now()` milliseconds. */
  #aliveSeen = 0;
  #aliveSince = 0;

  /** Open connections, which the process `exit` listener closes. */
  static readonly #open = new Set<BlockingConnection>();
  static #exitListenerAdded = false;

  /** Properties that the broker sent in `connection.start`, such as `product` and `version`. */
  readonly serverProperties: FieldTable;
  /** Negotiated limits: heartbeat in seconds (0 when off), frame_max in bytes, and channel_max. */
  readonly tune: { heartbeat: number; frameMax: number; channelMax: number };

  /**
   * Connects and completes the AMQP handshake before returning.
   *
   * @param target a URL, a list of endpoints, or options, exactly as `connect()` of
   *   `@warren/adapter-node` takes them, with one exception: `mechanism` must be a name such
   *   as `'PLAIN'`, because a mechanism object cannot cross to the I/O thread. A `logger` and a
   *   `frameTrace` callback are called on this thread.
   * @throws the same errors as `connect()` of `@warren/adapter-node`, such as
   *   `AuthenticationError` and `ConnectAttemptsError` (code `CONNECT_FAILED`).
   */
  constructor(target?: ConnectTarget) {
    const { workerTarget, logger, frameTrace } = splitFunctions(target);
    this.#logger = logger;
    this.#frameTrace = frameTrace;
    this.#shared = new Int32Array(new SharedArrayBuffer(SHARED_SLOTS * Int32Array.BYTES_PER_ELEMENT));

    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    const start: WorkerStart & { port: MessagePort } = {
      target: workerTarget,
      forwardLog: logger !== undefined,
      forwardTrace: frameTrace !== undefined,
      shared: this.#shared,
      port: port2,
    };
    this.#worker = new Worker(WORKER_URL, {
      workerData: start,
      transferList: [port2],
      execArgv: workerExecArgv(),
    });
    // Neither the thread nor the port keeps the process alive; see #closeAtExit.
    this.#worker.unref();
    this.#port.unref();
    // These run only while this thread is in its event loop, not during a call. A call
    // notices a dead I/O thread by its silence instead.
    this.#worker.on('error', (error) => this.#handleWorkerEnd(error));
    this.#worker.on('exit', (code) => this.#handleWorkerEnd(new Error(`the I/O thread exited with code ${code}`)));

    const opened = this.#waitForOpen();
    this.serverProperties = opened.serverProperties as FieldTable;
    this.tune = opened.tune;
    BlockingConnection.#watchExit(this);
  }

  static #watchExit(connection: BlockingConnection): void {
    BlockingConnection.#open.add(connection);
    if (BlockingConnection.#exitListenerAdded) return;

    BlockingConnection.#exitListenerAdded = true;
    process.on('exit', () => {
      for (const open of BlockingConnection.#open) open.#closeAtExit();
    });
  }

  /** Whether the connection is open. */
  get isOpen(): boolean {
    return !this.#closed;
  }

  /** Whether the connection has closed, by the client, by the broker or by a network failure. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Whether the broker has blocked publishing on this connection, for example on a memory alarm. */
  get isBlocked(): boolean {
    return this.#blocked;
  }

  /** The capabilities that the broker announced, such as `publisher_confirms`. */
  get serverCapabilities(): FieldTable {
    const capabilities = this.serverProperties.capabilities;
    return typeof capabilities === 'object' && capabilities !== null ? (capabilities as FieldTable) : {};
  }

  /** Whether the broker supports publisher confirms (`confirm.select`). */
  get publisherConfirmsSupported(): boolean {
    return this.serverCapabilities.publisher_confirms === true;
  }

  /** Whether the broker supports `basic.nack`. */
  get basicNackSupported(): boolean {
    return this.serverCapabilities['basic.nack'] === true;
  }

  /** Whether the broker supports exchange-to-exchange bindings. */
  get exchangeExchangeBindingsSupported(): boolean {
    return this.serverCapabilities.exchange_exchange_bindings === true;
  }

  /** Whether the broker notifies consumers that it cancelled (`basic.cancel` from the broker). */
  get consumerCancelNotifySupported(): boolean {
    return this.serverCapabilities.consumer_cancel_notify === true;
  }

  /**
   * Opens a channel.
   * @throws ConnectionError when the connection is closed, or the broker refuses the channel.
   */
  channel(): BlockingChannel {
    const id = this.call('connection', 'channel', []) as number;
    const channel = new BlockingChannel(this, id);
    this.#channels.set(id, channel);
    return channel;
  }

  /**
   * Closes the connection and every channel on it, waiting for the broker's close-ok. Closing
   * a closed connection does nothing.
   */
  close(): void {
    if (this.#closed) return;

    try {
      this.call('connection', 'close', []);
    } catch (error) {
      // The connection ended on its own while closing, which leaves it closed all the same.
      if (!(error instanceof ConnectionError)) throw error;
    } finally {
      this.#markClosed(undefined);
      this.#port.close();
    }
  }

  /** Sends a new secret, such as a refreshed OAuth 2 token, with `connection.update-secret`. */
  updateSecret(newSecret: string, reason = 'secret update'): void {
    this.call('connection', 'updateSecret', [newSecret, reason]);
  }

  /**
   * Processes what the broker sent and runs the callbacks it calls for: consumers, returns,
   * blocked and unblocked callbacks, `callLater` timers and `addCallbackThreadsafe` callbacks.
   *
   * @param timeLimitSeconds the longest time to wait. 0 runs what is ready and returns at once;
   *   without a limit it waits for the next event. It returns as soon as an event has arrived or
   *   a callback has run, before the limit. Inside a callback it runs no callbacks, and returns
   *   once an event has arrived.
   * @throws ConnectionError when the connection is closed, and whatever a callback throws.
   */
  processDataEvents(timeLimitSeconds?: number): void {
    const deadline = timeLimitSeconds === undefined ? Infinity : performance.now() + secondsToMs(timeLimitSeconds, 'timeLimitSeconds');
    const eventsBefore = this.#eventCount;
    for (;;) {
      this.#drainPort();
      // Nothing is dispatched after a close, such as a blocked callback that arrived before it.
      this.#throwIfClosed();
      if (this.#dispatchReady() > 0 || this.#eventCount !== eventsBefore) return;

      const now = performance.now();
      if (now >= deadline) return;
      const wakeAt = Math.min(deadline, this.#scheduler.nextDueAt ?? Infinity);
      this.#waitForMessage(wakeAt);
    }
  }

  /**
   * Waits for `seconds` while processing events and running callbacks, so the connection stays
   * serviced. Use it instead of a busy wait or `Atomics.wait` of your own.
   */
  sleep(seconds: number): void {
    const deadline = performance.now() + secondsToMs(seconds, 'seconds');
    for (;;) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) return;
      this.processDataEvents(remaining / 1000);
    }
  }

  /**
   * Runs `callback` once, from `processDataEvents` or another dispatching call, after at least
   * `delaySeconds`. Returns an id for `removeTimeout`.
   */
  callLater(delaySeconds: number, callback: () => void): TimerId {
    assertFunction(callback, 'callLater');
    return this.#scheduler.add(performance.now() + secondsToMs(delaySeconds, 'delaySeconds'), callback);
  }

  /** Cancels a `callLater` timer; removing a timer that has run or was removed does nothing. */
  removeTimeout(timerId: TimerId): void {
    this.#scheduler.remove(timerId);
  }

  /**
   * Queues `callback` to run at the next dispatch, for code on this thread that must not run it
   * in place, such as a callback that would otherwise recurse.
   *
   * NOTE: JavaScript functions cannot cross threads, so other threads cannot use it, unlike
   * Pika's method of the same name. A worker thread sends acks and publishes through
   * `BlockingChannel.createHandle()` instead.
   */
  addCallbackThreadsafe(callback: () => void): void {
    assertFunction(callback, 'addCallbackThreadsafe');
    this.#throwIfClosed();
    this.#dispatchQueue.push(callback);
  }

  /** Calls `callback(reason)` when the broker blocks the connection (`connection.blocked`). */
  addOnConnectionBlockedCallback(callback: (reason: string) => void): void {
    assertFunction(callback, 'addOnConnectionBlockedCallback');
    this.#blockedCallbacks.push(callback);
  }

  /** Calls `callback()` when the broker unblocks the connection (`connection.unblocked`). */
  addOnConnectionUnblockedCallback(callback: () => void): void {
    assertFunction(callback, 'addOnConnectionUnblockedCallback');
    this.#unblockedCallbacks.push(callback);
  }

  /** @internal Sends a request and waits for its reply. */
  call(target: CallTarget, method: string, args: unknown[], transfer?: readonly (ArrayBuffer | MessagePort)[]): unknown {
    this.#throwIfClosed();
    const id = ++this.#nextRequestId;
    this.#post({ kind: 'call', id, target, method, args }, transfer);
    return this.waitForReply(id);
  }

  /** @internal Posts a request that gets no reply. */
  post(request: Request, transfer?: readonly (ArrayBuffer | MessagePort)[]): void {
    this.#throwIfClosed();
    this.#post(request, transfer);
  }

  /** @internal Returns the id for a request whose reply the caller waits for itself. */
  nextRequestId(): number {
    return ++this.#nextRequestId;
  }

  /** @internal Posts a pipelined publish of `size` bytes, first waiting while too many are in flight. */
  postPublish(request: Request, transfer: readonly (ArrayBuffer | MessagePort)[], size: number): void {
    this.#throwIfClosed();
    const counted = size + PUBLISH_OVERHEAD;
    for (;;) {
      const written = Atomics.load(this.#shared, PUBLISHES_WRITTEN);
      const inFlight = (this.#publishBytesPosted - written) | 0;
      if (inFlight === 0 || inFlight + counted <= MAX_PUBLISH_BYTES_IN_FLIGHT) break;
      if (Atomics.wait(this.#shared, PUBLISHES_WRITTEN, written, WAIT_SLICE_MS) === 'timed-out') {
        this.pollEvents();
        this.#checkIoThreadAlive(performance.now());
      }
      this.#throwIfClosed();
    }
    this.#publishBytesPosted = (this.#publishBytesPosted + counted) | 0;
    this.#post(request, transfer);
  }

  /** @internal Waits for the reply to request `id`, queueing the events that arrive first. */
  waitForReply(id: number): unknown {
    for (;;) {
      const message = this.#receive(Infinity)!;
      if (message.kind !== 'reply' || message.id !== id) {
        this.#accept(message);
        // The I/O thread has stopped after a failure, so no reply will come.
        this.#throwIfClosedWithError();
        continue;
      }
      if (message.error !== undefined) throw this.#rebuild(message.error);
      return message.value;
    }
  }

  /** @internal Processes events until `ready()` or the deadline; returns whether `ready()` held. */
  pumpUntil(ready: () => boolean, deadline: number): boolean {
    for (;;) {
      this.#drainPort();
      this.#throwIfClosedWithError();
      this.#dispatchReady();
      if (ready()) return true;
      const now = performance.now();
      if (now >= deadline) return false;
      this.#waitForMessage(Math.min(deadline, this.#scheduler.nextDueAt ?? Infinity));
    }
  }

  /**
   * @internal Takes in what the I/O thread has posted since the last look, without waiting or
   * dispatching, so that a pipelined request notices a close that has already happened.
   */
  pollEvents(): void {
    const signal = Atomics.load(this.#shared, SIGNAL);
    if (signal === this.#signalSeen) return;

    this.#signalSeen = signal;
    this.#drainPort();
  }

  /** @internal Queues work for the next dispatch. */
  enqueue(dispatch: Dispatch): void {
    this.#dispatchQueue.push(dispatch);
  }

  /** @internal Whether callbacks are running, so a nested call must not dispatch. */
  get dispatching(): boolean {
    return this.#dispatching;
  }

  /** @internal Forgets a closed channel. */
  forget(channelId: number): void {
    this.#channels.delete(channelId);
  }

  /** @internal Throws the error that closed the connection, or a closed-by-client error. */
  throwIfClosed(): void {
    this.#throwIfClosed();
  }

  #post(request: Request, transfer: readonly (ArrayBuffer | MessagePort)[] | undefined): void {
    try {
      this.#port.postMessage(request, transfer as never);
    } catch (error) {
      if (!(error instanceof Error && error.name === 'DataCloneError')) throw error;
      throw new InvalidArgumentError(`${describeRequest(request)}: an argument cannot be sent to the I/O thread: ${error.message}`, 'VALUE_TYPE_INVALID');
    }
  }

  #waitForOpen(): { serverProperties: unknown; tune: BlockingConnection['tune'] } {
    const startDeadline = performance.now() + WORKER_START_TIMEOUT_MS;
    for (;;) {
      const started = Atomics.load(this.#shared, WORKER_STARTED) === 1;
      const message = this.#receive(started ? Infinity : startDeadline);
      if (message === undefined) {
        if (Atomics.load(this.#shared, WORKER_STARTED) === 1) continue;
        this.#terminate();
        throw new ConnectionError(`the blocking adapter's I/O thread did not start within ${WORKER_START_TIMEOUT_MS} ms`, {
          code: 'IO_THREAD_FAILED',
          source: 'client',
        });
      }
      if (message.kind === 'open') return message;
      if (message.kind === 'open-failed' || message.kind === 'close') {
        this.#terminate();
        throw this.#rebuild(message.error!);
      }
      this.#accept(message);
    }
  }

  /**
   * Takes in what the I/O thread posted before it ended, such as the close that made it end,
   * and only then counts its end as a failure, if the connection is still open.
   */
  #handleWorkerEnd(cause: Error): void {
    if (this.#closed) return;
    this.#drainPort();
    this.#markClosed(ioThreadFailed(cause));
  }

  #terminate(): void {
    this.#closed = true;
    this.#port.close();
    void this.#worker.terminate();
  }

  /** Receives the next message from the I/O thread, waiting until `deadline` (ms, performance.now()). */
  #receive(deadline: number): WorkerMessage | undefined {
    for (;;) {
      const seen = Atomics.load(this.#shared, SIGNAL);
      const entry = receiveMessageOnPort(this.#port);
      if (entry !== undefined) return entry.message as WorkerMessage;

      const now = performance.now();
      if (now >= deadline) return undefined;
      this.#waitForSignal(seen, now, deadline);
    }
  }

  /** Throws `IO_THREAD_FAILED` once the I/O thread has shown no sign of life for too long. */
  #checkIoThreadAlive(now: number): void {
    const alive = Atomics.load(this.#shared, ALIVE);
    if (alive !== this.#aliveSeen || this.#aliveSince === 0) {
      this.#aliveSeen = alive;
      this.#aliveSince = now;
      return;
    }
    if (now - this.#aliveSince < IO_THREAD_SILENCE_MS) return;

    const error = ioThreadFailed(new Error(`the I/O thread showed no sign of life for ${IO_THREAD_SILENCE_MS} ms`));
    this.#markClosed(error);
    void this.#worker.terminate();
    throw error;
  }

  /** Waits until a message arrives or `deadline` passes, taking in a message that is already there. */
  #waitForMessage(deadline: number): void {
    const seen = Atomics.load(this.#shared, SIGNAL);
    const entry = receiveMessageOnPort(this.#port);
    if (entry !== undefined) {
      this.#accept(entry.message as WorkerMessage);
      return;
    }
    const now = performance.now();
    if (now < deadline) this.#waitForSignal(seen, now, deadline);
  }

  /**
   * Sleeps until the I/O thread posts again or `deadline` passes. It does not poll first,
   * because the I/O thread, the broker and other processes share few cores. On a loaded 2-CPU
   * machine, polling took the CPU that the I/O thread needed, and a passive queue.declare in the
   * blocking benchmark took over 250 µs longer.
   */
  #waitForSignal(seen: number, now: number, deadline: number): void {
    const result = Atomics.wait(this.#shared, SIGNAL, seen, Math.min(deadline - now, WAIT_SLICE_MS));
    if (result === 'timed-out' && Atomics.load(this.#shared, WORKER_STARTED) === 1) this.#checkIoThreadAlive(performance.now());
  }

  #drainPort(): void {
    for (;;) {
      const entry = receiveMessageOnPort(this.#port);
      if (entry === undefined) return;
      this.#accept(entry.message as WorkerMessage);
    }
  }

  /** Takes in an event from the I/O thread: state changes at once, callbacks into the queue. */
  #accept(message: WorkerMessage): void {
    if (message.kind !== 'log' && message.kind !== 'trace') this.#eventCount++;
    switch (message.kind) {
      case 'deliver':
        this.#channels.get(message.channel)?.receive(message.message);
        return;
      case 'cancel':
        this.#channels.get(message.channel)?.receiveCancel(message.consumerTag);
        return;
      case 'return':
        this.#channels.get(message.channel)?.receiveReturn(message.message);
        return;
      case 'channel-close':
        this.#channels.get(message.channel)?.receiveClose(message.error && this.#rebuild(message.error));
        return;
      case 'send-failed':
        this.#channels.get(message.channel)?.receiveFailure(this.#rebuild(message.error));
        return;
      case 'close':
        this.#markClosed(message.error && this.#rebuild(message.error));
        return;
      case 'blocked':
        this.#blocked = true;
        for (const callback of this.#blockedCallbacks) this.#dispatchQueue.push(() => callback(message.reason));
        return;
      case 'unblocked':
        this.#blocked = false;
        for (const callback of this.#unblockedCallbacks) this.#dispatchQueue.push(callback);
        return;
      case 'log':
        callSafely(() => this.#logger?.[message.level]?.(message.message, message.fields));
        return;
      case 'trace':
        callSafely(() => this.#frameTrace?.(message.direction, message.channel, message.description));
        return;
      case 'reply':
      case 'open':
      case 'open-failed':
        // A reply to a request that was abandoned, such as one cut short by a close.
        return;
    }
  }

  /** Runs the due timers and the queued callbacks; returns how many ran. */
  #dispatchReady(): number {
    if (this.#dispatching) return 0;

    this.#dispatching = true;
    let count = 0;
    try {
      const now = performance.now();
      for (let callback = this.#scheduler.takeDue(now); callback !== undefined; callback = this.#scheduler.takeDue(now)) {
        count++;
        callback();
      }
      // Callbacks queued by these callbacks wait for the next round, so a callback that queues
      // itself cannot keep this call from returning.
      for (let ready = this.#dispatchQueue.length; ready > 0; ready--) {
        const dispatch = this.#dispatchQueue.shift()!;
        count++;
        dispatch();
      }
    } finally {
      this.#dispatching = false;
    }
    return count;
  }

  #markClosed(error: AmqpError | undefined): void {
    if (this.#closed) return;

    this.#closed = true;
    this.#closeError = error;
    this.#blocked = false;
    BlockingConnection.#open.delete(this);
    // After a failure nothing more goes to the I/O thread; closing the port lets it end.
    if (error !== undefined) this.#port.close();
    for (const channel of this.#channels.values()) channel.receiveClose(error ?? closedByClient());
    this.#channels.clear();
  }

  #throwIfClosed(): void {
    if (!this.#closed) return;
    throw this.#closeError ?? closedByClient();
  }

  #throwIfClosedWithError(): void {
    if (this.#closed && this.#closeError !== undefined) throw this.#closeError;
  }

  #rebuild(record: ErrorRecord): AmqpError {
    return rebuildError(record);
  }

  #closeAtExit(): void {
    if (this.#closed) return;

    const id = ++this.#nextRequestId;
    this.#post({ kind: 'call', id, target: 'connection', method: 'close', args: [] }, undefined);
    const deadline = performance.now() + EXIT_CLOSE_TIMEOUT_MS;
    for (;;) {
      const message = this.#receive(deadline);
      if (message === undefined || (message.kind === 'reply' && message.id === id)) break;
      this.#accept(message);
    }
    // Log lines that the close produced after its reply.
    this.#drainPort();
    this.#closed = true;
  }
}

/**
 * Returns the Node.js options of the I/O thread: those of this process, which a Worker inherits
 * by default, unless they contain `--input-type`, as `node --input-type=module -e` sets. A worker
 * file cannot load with that option, so the thread then runs with none.
 */
function workerExecArgv(): string[] | undefined {
  return process.execArgv.some((argument) => argument.startsWith('--input-type')) ? [] : undefined;
}

function ioThreadFailed(cause: Error): ConnectionError {
  return new ConnectionError(`the blocking adapter's I/O thread failed: ${cause.message}`, { code: 'IO_THREAD_FAILED', source: 'client', cause });
}

function assertFunction(callback: unknown, method: string): void {
  if (typeof callback === 'function') return;
  throw new InvalidArgumentError(`${method}: callback must be a function, got ${typeof callback}`, 'VALUE_TYPE_INVALID');
}

/** Runs a logger or trace callback of the caller, whose failure must not break the connection. */
function callSafely(callback: () => unknown): void {
  try {
    callback();
  } catch {
    // Warren never lets a failing logger change the outcome of a call.
  }
}

function describeRequest(request: Request): string {
  if (request.kind === 'publish') return 'basicPublish';
  return request.method;
}

function closedByClient(): ConnectionClosedByClientError {
  return new ConnectionClosedByClientError('the connection is closed', { code: 'CONNECTION_CLOSED', source: 'client' });
}

/**
 * Separates what cannot cross to the I/O thread: the logger and the frame trace callback stay
 * here, and a mechanism object is rejected.
 */
function splitFunctions(target: ConnectTarget | undefined): {
  workerTarget: ConnectTarget | undefined;
  logger: Logger | undefined;
  frameTrace: FrameTraceCallback | undefined;
} {
  if (target === undefined || typeof target === 'string' || Array.isArray(target)) {
    return { workerTarget: target, logger: undefined, frameTrace: undefined };
  }
  const { logger, frameTrace, ...rest } = target as ConnectOptions;
  if (rest.mechanism !== undefined && typeof rest.mechanism !== 'string') {
    throw new ConnectionError(
      "mechanism must be a name such as 'PLAIN', 'AMQPLAIN' or 'EXTERNAL' for a BlockingConnection, because a mechanism object cannot cross threads",
      { code: 'INVALID_OPTION', source: 'client' },
    );
  }
  const workerTarget: ConnectOptions = { ...rest };
  // `frameTrace: true` logs each frame through the logger, which the I/O thread forwards here.
  if (frameTrace === true) workerTarget.frameTrace = true;
  return { workerTarget, logger, frameTrace: typeof frameTrace === 'function' ? frameTrace : undefined };
}
