/**
 * Blocking worker pool: the synchronous counterpart of worker-pool.ts. A `BlockingConnection`
 * consumes with the `consume` generator and hands each message to a pool of `worker_threads`
 * Workers, which burn CPU for longer than the heartbeat interval and then ack through a channel
 * handle (`channel.createHandle()` and `ChannelHandle`). With `--workers 0` the main thread
 * burns the CPU itself and acks. The connection survives that too, because the blocking
 * adapter's socket lives on its own I/O thread. It prints each ack and whether the connection
 * survived.
 *
 * Usage: node dist/blocking-worker-pool.js [--messages N] [--workers N] [--burn-ms MS] [--heartbeat SECONDS]
 * (or `pnpm --filter @warren/examples blocking-worker-pool` after a build). The defaults take
 * about 6 s. The broker URL comes from AMQP_URL, by default amqp://guest:guest@127.0.0.1:5672.
 */
import { parseArgs } from 'node:util';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { BlockingConnection, type Message } from '@warren/adapter-blocking';
import { burnCpu } from './burn-cpu.js';
import { isMainModule, parseInteger } from './cli.js';
import type { Job, JobOutcome, WorkerPoolOptions, WorkerPoolResult, WorkerSetup } from './worker-pool.js';

/** Seconds that the consume loop waits for a message before it checks the Workers' outcomes. */
const POLL_SECONDS = 0.05;
/** Seconds for RabbitMQ to requeue the unacked messages of a closed channel; 3.10 took under 50 ms. */
const REQUEUE_PAUSE_SECONDS = 0.3;
/** Time beyond the handlers' own that the example waits for the last ack before it gives up. */
const SLACK_MS = 10_000;

interface PoolWorker {
  index: number;
  worker: Worker;
  /** The calling thread reads outcomes from this port synchronously. */
  results: MessagePort;
}

/**
 * Runs the example and returns what it measured. It is synchronous like the adapter it shows.
 * Throws when an ack is rejected or the last ack does not arrive in time.
 */
export function runBlockingWorkerPool(options: WorkerPoolOptions): WorkerPoolResult {
  const log = options.log ?? console.log;
  const workerUrl = options.workerUrl ?? new URL('./worker-pool-worker.js', import.meta.url);
  const startedAt = performance.now();

  const connection = new BlockingConnection({ url: options.url ?? (process.env.AMQP_URL || undefined), heartbeat: options.heartbeat });
  const pool: PoolWorker[] = [];
  try {
    const channel = connection.channel();
    const { queue } = channel.queueDeclare('', { exclusive: true });
    for (let index = 0; index < options.messages; index++) channel.basicPublish('', queue, `job ${index}`);
    const heartbeatSeconds = connection.tune.heartbeat;
    log(`queue ${queue}: ${options.messages} messages, ${options.workers} workers, each handler burns ${options.burnMs} ms, heartbeat ${heartbeatSeconds} s`);

    // The broker sends each Worker, or the main thread alone, at most one message at a time.
    channel.basicQos({ prefetchCount: Math.max(1, options.workers) });
    for (let index = 0; index < options.workers; index++) {
      const handle = channel.createHandle();
      const { port1, port2 } = new MessageChannel();
      const setup: WorkerSetup = { handle, burnMs: options.burnMs, results: port2 };
      pool.push({ index: index + 1, worker: new Worker(workerUrl, { workerData: setup, transferList: [handle, port2] }), results: port1 });
    }

    const idle = [...pool];
    const backlog: Job[] = [];
    let acked = 0;
    const deadline = performance.now() + options.messages * options.burnMs + SLACK_MS;
    const dispatch = (poolWorker: PoolWorker, job: Job): void => {
      poolWorker.worker.postMessage(job, [job.body.buffer as ArrayBuffer]);
    };
    const handleInPlace = (message: Message): void => {
      const handlerStart = performance.now();
      burnCpu(message.body, options.burnMs);
      channel.basicAck(message.deliveryTag);
      acked++;
      log(`main thread acked delivery tag ${message.deliveryTag} after a ${Math.round(performance.now() - handlerStart)} ms handler; connection open: ${connection.isOpen}`);
    };

    for (const message of channel.consume(queue, { inactivityTimeout: POLL_SECONDS })) {
      if (message !== null) {
        if (pool.length === 0) {
          handleInPlace(message);
        } else {
          const job: Job = { deliveryTag: message.deliveryTag, body: new Uint8Array(message.body) };
          const poolWorker = idle.shift();
          if (poolWorker === undefined) backlog.push(job);
          else dispatch(poolWorker, job);
        }
      }

      for (const poolWorker of pool) {
        for (let entry = receiveMessageOnPort(poolWorker.results); entry !== undefined; entry = receiveMessageOnPort(poolWorker.results)) {
          const outcome = entry.message as JobOutcome;
          if (outcome.error !== undefined) {
            throw new Error(`worker ${poolWorker.index}: the ack of delivery tag ${outcome.deliveryTag} failed: ${outcome.error}`);
          }
          acked++;
          log(`worker ${poolWorker.index} acked delivery tag ${outcome.deliveryTag} after a ${Math.round(outcome.handlerMs)} ms handler; connection open: ${connection.isOpen}`);
          const next = backlog.shift();
          if (next === undefined) idle.push(poolWorker);
          else dispatch(poolWorker, next);
        }
      }
      if (acked === options.messages) break;
      if (performance.now() > deadline) throw new Error(`only ${acked} of ${options.messages} messages were acked in time`);
    }
    const connectionOpen = connection.isOpen;

    channel.cancel();
    // Closing the channel requeues any message it left unacknowledged, so the count below
    // includes a message whose ack never reached the broker.
    channel.close();
    const check = connection.channel();
    connection.sleep(REQUEUE_PAUSE_SECONDS);
    const remaining = check.queueDeclare(queue, { passive: true }).messageCount;

    const seconds = (performance.now() - startedAt) / 1000;
    log(`acked ${acked} of ${options.messages} in ${seconds.toFixed(1)} s; ${remaining} left in the queue; connection open: ${connectionOpen}`);
    return { published: options.messages, acked, remaining, heartbeatSeconds, connectionOpen, closeErrors: [], seconds };
  } finally {
    for (const { worker, results } of pool) {
      results.close();
      void worker.terminate();
    }
    connection.close();
  }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '4' },
      workers: { type: 'string', default: '2' },
      'burn-ms': { type: 'string', default: '3000' },
      heartbeat: { type: 'string', default: '1' },
    },
  });
  const result = runBlockingWorkerPool({
    messages: parseInteger('messages', values.messages, 0),
    workers: parseInteger('workers', values.workers, 0),
    burnMs: parseInteger('burn-ms', values['burn-ms'], 0),
    heartbeat: parseInteger('heartbeat', values.heartbeat, 0),
  });
  if (result.acked !== result.published || result.remaining !== 0 || !result.connectionOpen) {
    throw new Error(`acked ${result.acked} of ${result.published} messages, ${result.remaining} left in the queue, connection open: ${result.connectionOpen}`);
  }
}

if (isMainModule(import.meta.url)) {
  try {
    main();
  } catch (error) {
    console.error(error instanceof Error ? `blocking-worker-pool failed: ${error.message}` : error);
    process.exitCode = 1;
  }
}
