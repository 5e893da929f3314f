/**
 * The broker workloads, written once against `BenchClient` so that every client runs the same
 * steps. A workload returns one result per measured phase. Each phase records the wall time and
 * the process's CPU time (user + system) between its start and its end.
 */
import type { BenchClient, ConfirmPublisher } from './clients/client.js';
import { BENCH_HEADER_COUNT, BENCH_HEADERS } from './headers.js';
import { percentile } from './stats.js';

export const WORKLOAD_NAMES = ['publish', 'confirm', 'confirm-single', 'consume', 'rpc', 'large', 'headers'] as const;

export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

/** Sizes of the workloads. The runner scales the message counts with `--scale`. */
export interface WorkloadSettings {
  /** Body size in bytes of every message except the large ones. */
  bodySize: number;
  publishCount: number;
  confirmCount: number;
  /** Maximum unconfirmed messages in the `confirm` workload. */
  confirmWindow: number;
  confirmSingleCount: number;
  consumeCount: number;
  prefetch: number;
  rpcCount: number;
  /** Calls or confirms made before the measured ones in the latency workloads, and not counted. */
  warmupCount: number;
  largeSize: number;
  largeCount: number;
  headersCount: number;
  /** Encodes and decodes per repetition of the codec benchmark. */
  codecCount: number;
}

export const DEFAULT_SETTINGS: WorkloadSettings = {
  bodySize: 100,
  publishCount: 200_000,
  confirmCount: 50_000,
  confirmWindow: 1000,
  confirmSingleCount: 5000,
  consumeCount: 200_000,
  prefetch: 1000,
  rpcCount: 5000,
  warmupCount: 100,
  largeSize: 16 * 1024 * 1024,
  largeCount: 5,
  headersCount: 100_000,
  codecCount: 500_000,
};

/** Returns `settings` with every message count multiplied by `scale`, and at least 1. */
export function scaleSettings(settings: WorkloadSettings, scale: number): WorkloadSettings {
  const scaled = (count: number): number => Math.max(1, Math.round(count * scale));
  return {
    ...settings,
    publishCount: scaled(settings.publishCount),
    confirmCount: scaled(settings.confirmCount),
    confirmSingleCount: scaled(settings.confirmSingleCount),
    consumeCount: scaled(settings.consumeCount),
    rpcCount: scaled(settings.rpcCount),
    largeCount: scaled(settings.largeCount),
    headersCount: scaled(settings.headersCount),
    codecCount: scaled(settings.codecCount),
  };
}

export interface PhaseResult {
  /** Workload name, or the workload and a step such as `headers-consume`. */
  name: string;
  /** Messages, calls or codec operations completed in the phase. */
  messages: number;
  /** Body bytes moved in the phase. */
  bytes: number;
  seconds: number;
  /** User plus system CPU time of the whole process, in microseconds. */
  cpuMicros: number;
  /** The system part of `cpuMicros`: time in the kernel, mostly socket reads and writes. */
  systemCpuMicros: number;
  /** Latency of one message or call, in milliseconds. */
  latency?: { p50: number; p99: number };
}

/** Inputs of a workload besides the client. */
export interface WorkloadContext {
  client: BenchClient;
  url: string;
  /** Queue created for this run by the runner, and prefilled for `consume`. */
  queue: string;
  settings: WorkloadSettings;
}

/** Adds up the wall and CPU time of one or more timed sections. */
export class PhaseTimer {
  readonly #name: string;
  #seconds = 0;
  #cpuMicros = 0;
  #systemCpuMicros = 0;

  constructor(name: string) {
    this.#name = name;
  }

  async time<T>(work: () => Promise<T>): Promise<T> {
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    const result = await work();
    this.#seconds += (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    this.#cpuMicros += cpu.user + cpu.system;
    this.#systemCpuMicros += cpu.system;
    return result;
  }

  result(messages: number, bytes: number): PhaseResult {
    return {
      name: this.#name,
      messages,
      bytes,
      seconds: this.#seconds,
      cpuMicros: this.#cpuMicros,
      systemCpuMicros: this.#systemCpuMicros,
    };
  }
}

export function runWorkload(name: WorkloadName, context: WorkloadContext): Promise<PhaseResult[]> {
  switch (name) {
    case 'publish':
      return publishWorkload(context);
    case 'confirm':
      return confirmWorkload(context);
    case 'confirm-single':
      return confirmSingleWorkload(context);
    case 'consume':
      return consumeWorkload(context);
    case 'rpc':
      return rpcWorkload(context);
    case 'large':
      return largeWorkload(context);
    case 'headers':
      return headersWorkload(context);
  }
}

/** Returns a body of `size` bytes whose pages are all written, so that they count in RSS. */
export function makeBody(size: number): Buffer {
  const body = Buffer.allocUnsafe(size);
  for (let index = 0; index < size; index++) body[index] = 0x61 + (index % 26);
  return body;
}

async function publishWorkload({ client, queue, settings }: WorkloadContext): Promise<PhaseResult[]> {
  const count = settings.publishCount;
  const body = makeBody(settings.bodySize);
  const timer = new PhaseTimer('publish');
  await timer.time(async () => {
    await client.publish(queue, body, count);
    await waitUntilQueued(client, queue, count);
  });
  return [timer.result(count, count * body.length)];
}

async function confirmWorkload({ client, queue, settings }: WorkloadContext): Promise<PhaseResult[]> {
  const count = settings.confirmCount;
  const body = makeBody(settings.bodySize);
  const publisher = await client.openConfirmPublisher();
  const timer = new PhaseTimer('confirm');
  await timer.time(() => publishWithWindow(publisher, queue, body, count, settings.confirmWindow));
  await publisher.close();
  return [timer.result(count, count * body.length)];
}

/** Publishes `count` messages with at most `window` of them unconfirmed, and resolves at the last confirm. */
function publishWithWindow(publisher: ConfirmPublisher, queue: string, body: Buffer, count: number, window: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let sent = 0;
    let confirmed = 0;

    const onConfirm = (): void => {
      confirmed++;
      if (confirmed === count) resolve();
      else fill();
    };
    const fill = (): void => {
      while (sent - confirmed < window && sent < count) {
        sent++;
        publisher.publish(queue, body).then(onConfirm, reject);
      }
    };

    fill();
  });
}

async function confirmSingleWorkload({ client, queue, settings }: WorkloadContext): Promise<PhaseResult[]> {
  const count = settings.confirmSingleCount;
  const body = makeBody(settings.bodySize);
  const publisher = await client.openConfirmPublisher();
  for (let index = 0; index < settings.warmupCount; index++) await publisher.publish(queue, body);

  const latencies = new Float64Array(count);
  const timer = new PhaseTimer('confirm-single');
  await timer.time(async () => {
    for (let index = 0; index < count; index++) {
      const start = performance.now();
      await publisher.publish(queue, body);
      latencies[index] = performance.now() - start;
    }
  });
  await publisher.close();
  return [{ ...timer.result(count, count * body.length), latency: latencyPercentiles(latencies) }];
}

async function consumeWorkload({ client, queue, settings }: WorkloadContext): Promise<PhaseResult[]> {
  const count = settings.consumeCount;
  const timer = new PhaseTimer('consume');
  const summary = await timer.time(() => client.consume(queue, count, settings.prefetch));
  if (summary.received !== count) throw new Error(`consumed ${summary.received} of ${count} messages`);
  return [timer.result(count, count * settings.bodySize)];
}

async function rpcWorkload({ client, url, queue, settings }: WorkloadContext): Promise<PhaseResult[]> {
  const count = settings.rpcCount;
  const body = makeBody(settings.bodySize);
  const stopServer = await client.serveRpc(url, queue);
  const caller = await client.openRpcCaller();
  for (let index = 0; index < settings.warmupCount; index++) await caller.call(queue, body);

  const latencies = new Float64Array(count);
  const timer = new PhaseTimer('rpc');
  await timer.time(async () => {
    for (let index = 0; index < count; index++) {
      const start = performance.now();
      await caller.call(queue, body);
      latencies[index] = performance.now() - start;
    }
  });

  await caller.close();
  await stopServer();
  return [{ ...timer.result(count, 2 * count * body.length), latency: latencyPercentiles(latencies) }];
}

/**
 * Publishes one large message and waits until the queue contains it, then fetches it with
 * `basic.get`, `largeCount` times. Publish and fetch are timed separately.
 */
async function largeWorkload({ client, queue, settings }: WorkloadContext): Promise<PhaseResult[]> {
  const body = makeBody(settings.largeSize);
  const publishTimer = new PhaseTimer('large-publish');
  const consumeTimer = new PhaseTimer('large-consume');

  for (let index = 0; index < settings.largeCount; index++) {
    await publishTimer.time(async () => {
      await client.publish(queue, body, 1);
      await waitUntilQueued(client, queue, 1);
    });
    const received = await consumeTimer.time(() => client.get(queue));
    if (received !== body.length) throw new Error(`received a body of ${received} bytes; expected ${body.length}`);
  }

  const bytes = settings.largeCount * body.length;
  return [publishTimer.result(settings.largeCount, bytes), consumeTimer.result(settings.largeCount, bytes)];
}

async function headersWorkload({ client, queue, settings }: WorkloadContext): Promise<PhaseResult[]> {
  const count = settings.headersCount;
  const body = makeBody(settings.bodySize);
  const publishTimer = new PhaseTimer('headers-publish');
  await publishTimer.time(async () => {
    await client.publish(queue, body, count, BENCH_HEADERS);
    await waitUntilQueued(client, queue, count);
  });

  const consumeTimer = new PhaseTimer('headers-consume');
  const summary = await consumeTimer.time(() => client.consume(queue, count, settings.prefetch));
  if (summary.received !== count) throw new Error(`consumed ${summary.received} of ${count} messages`);
  if (summary.firstHeaderCount !== BENCH_HEADER_COUNT) {
    throw new Error(`the first message consumed has ${summary.firstHeaderCount} headers; expected ${BENCH_HEADER_COUNT}`);
  }

  const bytes = count * body.length;
  return [publishTimer.result(count, bytes), consumeTimer.result(count, bytes)];
}

const POLL_INTERVAL_MS = 5;
/** Time without any growth of the message count after which `waitUntilQueued` gives up. */
const STALL_TIMEOUT_MS = 30_000;

/**
 * Polls `queue` with a passive declare until it contains at least `count` ready messages, because
 * the broker enqueues published messages asynchronously.
 */
export async function waitUntilQueued(client: Pick<BenchClient, 'messageCount'>, queue: string, count: number): Promise<void> {
  let last = -1;
  let lastChange = performance.now();
  for (;;) {
    const messageCount = await client.messageCount(queue);
    if (messageCount >= count) return;

    if (messageCount !== last) {
      last = messageCount;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > STALL_TIMEOUT_MS) {
      throw new Error(`timed out waiting for queue ${queue}: it contains ${messageCount} of ${count} published messages, and the count has not grown for ${STALL_TIMEOUT_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

function latencyPercentiles(latencies: Float64Array): { p50: number; p99: number } {
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
}
