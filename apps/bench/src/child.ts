/**
 * Runs one benchmark for one client and sends the result to the runner over the IPC channel,
 * or prints it as JSON when started without one.
 *
 * Usage: node dist/child.js REQUEST_JSON, where the JSON is a `ChildRequest`. The runner starts
 * one child at a time, so that no two clients compete for the CPU or the broker.
 */
import type { BenchClient, ClientModule, ClientName } from './clients/client.js';
import { runCodecBenchmark } from './codec/run.js';
import type { ChildRequest, ChildResult } from './results.js';
import { type PhaseResult, runWorkload } from './workloads.js';

const RSS_SAMPLE_INTERVAL_MS = 20;

const CLIENT_MODULES: Record<ClientName, () => Promise<ClientModule>> = {
  warren: () => import('./clients/warren.js'),
  amqplib: () => import('./clients/amqplib.js'),
  cloudamqp: () => import('./clients/cloudamqp.js'),
  'rabbitmq-client': () => import('./clients/rabbitmq-client.js'),
};

/** Records the highest RSS seen since the last `reset()`, sampled on a timer. */
class RssSampler {
  #peak = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(intervalMs: number) {
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  sample(): number {
    const rss = process.memoryUsage.rss();
    if (rss > this.#peak) this.#peak = rss;
    return rss;
  }

  /** Starts a new peak from the current RSS and returns it. */
  reset(): number {
    this.#peak = 0;
    return this.sample();
  }

  stop(): number {
    clearInterval(this.#timer);
    this.sample();
    return this.#peak;
  }
}

async function runChild(request: ChildRequest): Promise<ChildResult> {
  const sampler = new RssSampler(RSS_SAMPLE_INTERVAL_MS);
  const module = await CLIENT_MODULES[request.client]();

  let client: BenchClient | undefined;
  let baselineRss: number;
  let phases: PhaseResult[];
  if (request.benchmark === 'codec') {
    baselineRss = sampler.reset();
    phases = await runCodecBenchmark(request.client, request.settings.codecCount);
  } else {
    client = await module.connect(request.url);
    baselineRss = sampler.reset();
    phases = await runWorkload(request.benchmark, { client, url: request.url, queue: request.queue, settings: request.settings });
  }
  const sampledPeakRss = sampler.stop();
  await client?.close();

  return {
    client: request.client,
    benchmark: request.benchmark,
    library: module.describe(),
    phases,
    // maxRSS is in kibibytes.
    memory: { baselineRss, sampledPeakRss, maxRss: process.resourceUsage().maxRSS * 1024 },
  };
}

function send(message: { result: ChildResult } | { error: string }): void {
  if (process.send === undefined) {
    process.stdout.write(`${JSON.stringify(message, null, 2)}\n`);
    process.exit('error' in message ? 1 : 0);
  }
  // Some clients keep timers running after close, so the child exits once the message is sent.
  process.send(message, () => process.exit(0));
}

const requestJson = process.argv[2];
if (requestJson === undefined) {
  process.stderr.write('usage: node dist/child.js REQUEST_JSON\n');
  process.exit(2);
}

try {
  const result = await runChild(JSON.parse(requestJson) as ChildRequest);
  send({ result });
} catch (error) {
  send({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
}
