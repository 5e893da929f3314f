/**
 * Runs the blocking benchmark for one of Warren's adapters and prints a `BlockingChildResult` as
 * one line of JSON. The runner starts one child at a time.
 *
 * - publish: `publishCount` messages of `bodySize` bytes on one channel without confirms, each
 *   call applying the adapter's backpressure. The clock stops when a passive declare reports
 *   all of them in the queue.
 * - call: sequential passive `queue.declare` calls, timed one by one.
 *
 * Usage: node dist/blocking/child.js warren-blocking|warren-async REQUEST_JSON
 */
import { BlockingConnection } from '@warren/adapter-blocking';
import { connect } from '@warren/adapter-node';
import { packageVersion } from '../package-version.js';
import { percentile } from '../stats.js';
import type { BlockingChildRequest, BlockingChildResult } from './protocol.js';

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

function callLatency(samples: Float64Array): { p50: number; p99: number } {
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

/**
 * Times passive declares made alternately through a blocking and an async connection, starting
 * with the other one on each round, so that neither gains from going first.
 */
async function measurePaired(request: BlockingChildRequest, channel: ReturnType<BlockingConnection['channel']>): Promise<BlockingChildResult['paired']> {
  const asyncConnection = await connect(request.url);
  const asyncChannel = await asyncConnection.channel();
  const timeBlocking = (): number => {
    const start = performance.now();
    channel.queueDeclare(request.queue, { passive: true });
    return (performance.now() - start) * 1000;
  };
  const timeAsync = async (): Promise<number> => {
    const start = performance.now();
    await asyncChannel.queueDeclare(request.queue, { passive: true });
    return (performance.now() - start) * 1000;
  };

  for (let index = 0; index < request.warmupCount; index++) {
    timeBlocking();
    await timeAsync();
  }
  const blocking = new Float64Array(request.callCount);
  const asynchronous = new Float64Array(request.callCount);
  const differences = new Float64Array(request.callCount);
  for (let index = 0; index < request.callCount; index++) {
    if (index % 2 === 0) {
      blocking[index] = timeBlocking();
      asynchronous[index] = await timeAsync();
    } else {
      asynchronous[index] = await timeAsync();
      blocking[index] = timeBlocking();
    }
    differences[index] = blocking[index]! - asynchronous[index]!;
  }
  await asyncConnection.close();
  return { blockingP50: percentile(blocking, 0.5), asyncP50: percentile(asynchronous, 0.5), overheadP50: percentile(differences, 0.5) };
}

async function runBlocking(request: BlockingChildRequest): Promise<BlockingChildResult> {
  const connection = new BlockingConnection(request.url);
  const channel = connection.channel();
  channel.queueDeclare(request.queue);
  const body = Buffer.alloc(request.bodySize, 0x61);

  const startCpu = cpuMicros();
  const start = performance.now();
  for (let index = 0; index < request.publishCount; index++) channel.basicPublish('', request.queue, body);
  while (channel.queueDeclare(request.queue, { passive: true }).messageCount < request.publishCount);
  const publish = { messages: request.publishCount, seconds: (performance.now() - start) / 1000, cpuMicros: cpuMicros() - startCpu };

  for (let index = 0; index < request.warmupCount; index++) channel.queueDeclare(request.queue, { passive: true });
  const samples = new Float64Array(request.callCount);
  for (let index = 0; index < request.callCount; index++) {
    const callStart = performance.now();
    channel.queueDeclare(request.queue, { passive: true });
    samples[index] = (performance.now() - callStart) * 1000;
  }

  const paired = await measurePaired(request, channel);

  channel.queueDelete(request.queue);
  connection.close();
  return { library: `@warren/adapter-blocking ${packageVersion('@warren/adapter-blocking')}`, publish, call: callLatency(samples), paired };
}

async function runAsync(request: BlockingChildRequest): Promise<BlockingChildResult> {
  const connection = await connect(request.url);
  const channel = await connection.channel();
  await channel.queueDeclare(request.queue);
  const body = Buffer.alloc(request.bodySize, 0x61);

  const startCpu = cpuMicros();
  const start = performance.now();
  for (let index = 0; index < request.publishCount; index++) await channel.basicPublish('', request.queue, body);
  while ((await channel.queueDeclare(request.queue, { passive: true })).messageCount < request.publishCount);
  const publish = { messages: request.publishCount, seconds: (performance.now() - start) / 1000, cpuMicros: cpuMicros() - startCpu };

  for (let index = 0; index < request.warmupCount; index++) await channel.queueDeclare(request.queue, { passive: true });
  const samples = new Float64Array(request.callCount);
  for (let index = 0; index < request.callCount; index++) {
    const callStart = performance.now();
    await channel.queueDeclare(request.queue, { passive: true });
    samples[index] = (performance.now() - callStart) * 1000;
  }

  await channel.queueDelete(request.queue);
  await connection.close();
  return { library: `@warren/adapter-node ${packageVersion('@warren/adapter-node')}`, publish, call: callLatency(samples) };
}

const [client, requestJson] = process.argv.slice(2);
const request = JSON.parse(requestJson!) as BlockingChildRequest;
const result = client === 'warren-blocking' ? await runBlocking(request) : await runAsync(request);
process.stdout.write(`${JSON.stringify(result)}\n`);
