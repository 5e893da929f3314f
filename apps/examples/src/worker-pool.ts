/**
 * Worker pool: an asynchronous consumer hands each message to a pool of `worker_threads`
 * Workers, whose handlers burn CPU for longer than the heartbeat interval. Run on the
 * connection's thread, such a handler would block the heartbeats, and the broker would drop
 * the connection. Here each Worker acknowledges through a channel handle
 * (`channel.createHandle()` and `ChannelHandle`), while the main thread only moves messages
 * and keeps the connection alive. It prints each ack and whether the connection survived.
 *
 * Usage: node dist/worker-pool.js [--messages N] [--workers N] [--burn-ms MS] [--heartbeat SECONDS]
 * (or `pnpm --filter @warren/examples worker-pool` after a build). The defaults take about 6 s.
 * The broker URL comes from AMQP_URL, by default amqp://guest:guest@127.0.0.1:5672.
 */
import { parseArgs } from 'node:util';
import { type MessagePort, Worker } from 'node:worker_threads';
import { type AmqpError, type Message, connect } from '@warren/adapter-node';
import { isMainModule, parseInteger } from './cli.js';

export interface WorkerPoolOptions {
  url?: string | undefined;
  /** Messages to publish and then consume. */
  messages: number;
  /** Worker threads in the pool. */
  workers: number;
  /** CPU time of each handler, in milliseconds. */
  burnMs: number;
  /** Heartbeat interval requested from the broker, in seconds. */
  heartbeat: number;
  /** Script of the pool's threads. Default: worker-pool-worker.js next to this module. */
  workerUrl?: URL;
  log?: (line: string) => void;
}

export interface WorkerPoolResult {
  published: number;
  /** Messages whose ack the Workers saw resolve. */
  acked: number;
  /** Messages left in the queue after the consuming channel closed, which requeues unacked ones. */
  remaining: number;
  /** Heartbeat interval that the broker agreed to, in seconds. */
  heartbeatSeconds: number;
  /** Whether the connection was still open after the last ack. */
  connectionOpen: boolean;
  /** Errors of `close` events seen before the example closed the connection itself. */
  closeErrors: string[];
  seconds: number;
}

/** One message for a Worker to handle, as the main thread posts it. */
export interface Job {
  deliveryTag: number;
  body: Uint8Array;
}

/** Report that a Worker posts back once it has handled a job and its ack has settled. */
export interface JobOutcome {
  deliveryTag: number;
  handlerMs: number;
  checksum: number;
  /** Message of the error that the ack rejected with. */
  error?: string;
}

/** The `workerData` of each Worker. */
export interface WorkerSetup {
  handle: MessagePort;
  burnMs: number;
  /** Port for the outcomes; without it they go to the parent's 'message' listener. */
  results?: MessagePort;
}

/** Pause for RabbitMQ to requeue the unacked messages of a closed channel. RabbitMQ 3.10 took under 50 ms on a 2-CPU machine. */
const REQUEUE_PAUSE_MS = 300;

/** Runs the example and returns what it measured. Throws when a Worker fails or an ack is rejected. */
export async function runWorkerPool(options: WorkerPoolOptions): Promise<WorkerPoolResult> {
  const log = options.log ?? console.log;
  const workerUrl = options.workerUrl ?? new URL('./worker-pool-worker.js', import.meta.url);
  const startedAt = performance.now();

  const connection = await connect({ url: options.url ?? (process.env.AMQP_URL || undefined), heartbeat: options.heartbeat });
  const closeErrors: string[] = [];
  connection.on('close', (error: AmqpError | undefined) => closeErrors.push(error?.message ?? 'closed without an error'));
  const workers: Worker[] = [];
  try {
    const channel = await connection.channel();
    const { queue } = await channel.queueDeclare('', { exclusive: true });
    for (let index = 0; index < options.messages; index++) await channel.basicPublish('', queue, `job ${index}`);
    const heartbeatSeconds = connection.tune.heartbeat;
    log(`queue ${queue}: ${options.messages} messages, ${options.workers} workers, each handler burns ${options.burnMs} ms, heartbeat ${heartbeatSeconds} s`);

    // The broker sends each Worker at most one message at a time.
    await channel.basicQos(options.workers);
    const idle: Worker[] = [];
    const backlog: Job[] = [];
    let acked = 0;
    let finish!: () => void;
    let fail!: (error: Error) => void;
    const finished = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    // A Worker can fail before `finished` is awaited. This handler keeps that rejection from
    // counting as unhandled, and the await below still throws it.
    finished.catch(() => {});
    if (options.messages === 0) finish();

    const dispatch = (worker: Worker, job: Job): void => {
      // The body is a new buffer of its own, so transferring it moves it without a copy.
      worker.postMessage(job, [job.body.buffer as ArrayBuffer]);
    };

    for (let index = 0; index < options.workers; index++) {
      const handle = channel.createHandle();
      const worker = new Worker(workerUrl, { workerData: { handle, burnMs: options.burnMs } satisfies WorkerSetup, transferList: [handle] });
      workers.push(worker);
      idle.push(worker);
      worker.on('error', (error) => fail(new Error(`worker ${index + 1} failed: ${error.message}`)));
      worker.on('message', (outcome: JobOutcome) => {
        if (outcome.error !== undefined) {
          fail(new Error(`worker ${index + 1}: the ack of delivery tag ${outcome.deliveryTag} failed: ${outcome.error}`));
          return;
        }
        acked++;
        log(`worker ${index + 1} acked delivery tag ${outcome.deliveryTag} after a ${Math.round(outcome.handlerMs)} ms handler; connection open: ${connection.isOpen}`);
        if (acked === options.messages) finish();

        const next = backlog.shift();
        if (next === undefined) idle.push(worker);
        else dispatch(worker, next);
      });
    }

    const consumer = await channel.basicConsume(queue, (message: Message) => {
      const job: Job = { deliveryTag: message.deliveryTag, body: new Uint8Array(message.body) };
      const worker = idle.shift();
      if (worker === undefined) backlog.push(job);
      else dispatch(worker, job);
    });
    await finished;
    const connectionOpen = connection.isOpen;

    await channel.basicCancel(consumer.tag);
    // Closing the channel requeues any message it left unacknowledged, so the count below
    // includes a message whose ack never reached the broker.
    await channel.close();
    const check = await connection.channel();
    await new Promise((resolve) => setTimeout(resolve, REQUEUE_PAUSE_MS));
    const remaining = (await check.queueDeclare(queue, { passive: true })).messageCount;

    const seconds = (performance.now() - startedAt) / 1000;
    log(`acked ${acked} of ${options.messages} in ${seconds.toFixed(1)} s; ${remaining} left in the queue; connection open: ${connectionOpen}`);
    return { published: options.messages, acked, remaining, heartbeatSeconds, connectionOpen, closeErrors: [...closeErrors], seconds };
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
    await connection.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '4' },
      workers: { type: 'string', default: '2' },
      'burn-ms': { type: 'string', default: '3000' },
      heartbeat: { type: 'string', default: '1' },
    },
  });
  const result = await runWorkerPool({
    messages: parseInteger('messages', values.messages, 0),
    workers: parseInteger('workers', values.workers, 1),
    burnMs: parseInteger('burn-ms', values['burn-ms'], 0),
    heartbeat: parseInteger('heartbeat', values.heartbeat, 0),
  });
  if (result.acked !== result.published || result.remaining !== 0 || !result.connectionOpen) {
    throw new Error(`acked ${result.acked} of ${result.published} messages, ${result.remaining} left in the queue, connection open: ${result.connectionOpen}`);
  }
}

if (isMainModule(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? `worker-pool failed: ${error.message}` : error);
    process.exitCode = 1;
  });
}
