/**
 * One thread of the worker-pool example (see worker-pool.ts, which starts it). It runs each job
 * that the main thread posts, a CPU-bound handler, then acknowledges the message through the
 * channel handle that it received in `workerData`, and reports back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ChannelHandle } from '@warren/adapter-node';
import { burnCpu } from './burn-cpu.js';
import type { Job, JobOutcome, WorkerSetup } from './worker-pool.js';

if (parentPort === null) {
  throw new Error('worker-pool-worker.js runs only as a Worker started by worker-pool.js');
}
const { handle: handlePort, burnMs, results } = workerData as WorkerSetup;
// Outcomes go to `results` when the main thread reads them synchronously, as the blocking
// example does, and otherwise to the parent's 'message' listener.
const port = results ?? parentPort;
const handle = new ChannelHandle(handlePort);

parentPort.on('message', (job: Job) => {
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
