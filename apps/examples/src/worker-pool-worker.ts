/**
 * One thread of the worker-pool example (see worker-pool.ts, which starts it). It runs each job
 * that the main thread posts, a CPU-bound handler, then acknowledges the message through the
 * channel handle that it received in `workerData`, and reports back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ChannelHandle } from '@warren/adapter-node';
import type { Job, JobOutcome, WorkerSetup } from './worker-pool.js';

if (parentPort === null) {
  throw new Error('worker-pool-worker.js runs only as a Worker started by worker-pool.js');
}
const port = parentPort;
const { handle: handlePort, burnMs } = workerData as WorkerSetup;
const handle = new ChannelHandle(handlePort);

port.on('message', (job: Job) => {
  const startedAt = performance.now();
  const checksum = burnCpu(job.body, burnMs);
  const handlerMs = performance.now() - startedAt;

  handle.basicAck(job.deliveryTag).then(
    () => port.postMessage({ deliveryTag: job.deliveryTag, handlerMs, checksum } satisfies JobOutcome),
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      port.postMessage({ deliveryTag: job.deliveryTag, handlerMs, checksum, error: message } satisfies JobOutcome);
    },
  );
});

/**
 * Stands in for real CPU-bound work such as image resizing: hashes `body` over and over for
 * `milliseconds`, never yielding to the event loop. Returns the hash so the work is not dead code.
 */
function burnCpu(body: Uint8Array, milliseconds: number): number {
  const deadline = performance.now() + milliseconds;
  let hash = 2166136261;
  while (performance.now() < deadline) {
    for (const byte of body) hash = Math.imul(hash ^ byte, 16777619);
  }
  return hash >>> 0;
}
