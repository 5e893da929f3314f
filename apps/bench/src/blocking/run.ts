/**
 * The blocking benchmark: Warren's blocking adapter next to its async adapter and to Pika's
 * `BlockingConnection` (Debian's python3-pika), in one run on the same broker.
 *
 * Each repetition runs every client in its own process, one at a time, on a fresh queue. It
 * reports medians with min and max over the repetitions, and two ratios:
 * - blocking publish rate over the async adapter's and over Pika's;
 * - the median time that one synchronous call (a passive `queue.declare`) adds over the async
 *   adapter's time for the same call. The blocking child measures it in pairs, one call through
 *   each adapter in turn in one process, so that both see the same load. The difference of the
 *   medians from separate processes is printed too.
 *
 * Usage: node dist/blocking/run.js [--repetitions N] [--clients a,b] [--publish-count N]
 *        [--call-count N] [--output FILE]
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeMachine } from '../machine.js';
import { type Spread, spread } from '../stats.js';
import { BLOCKING_CLIENT_NAMES, type BlockingChildRequest, type BlockingChildResult, type BlockingClientName } from './protocol.js';

const CHILD_SCRIPT = fileURLToPath(new URL('./child.js', import.meta.url));
const PIKA_SCRIPT = fileURLToPath(new URL('../../src/blocking/pika_child.py', import.meta.url));
const PYTHON = process.env.PYTHON_WITH_PIKA || '/usr/bin/python3';
const DEFAULT_OUTPUT = fileURLToPath(new URL('../../results/blocking-latest.json', import.meta.url));
const BROKER_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';

const HELP = `usage: node dist/blocking/run.js [options]
  --repetitions N     runs of each client (default 3)
  --clients LIST      comma-separated subset of ${BLOCKING_CLIENT_NAMES.join(', ')} (default all;
                      pika only when PYTHON_WITH_PIKA, by default /usr/bin/python3, imports it)
  --publish-count N   messages of 100 bytes published without confirms (default 200000)
  --call-count N      timed passive queue.declare calls (default 5000)
  --output FILE       where to write the results as JSON (default results/blocking-latest.json)`;

interface ClientSummary {
  client: BlockingClientName;
  library: string;
  publishRate: Spread;
  cpuMicrosPerMessage: Spread;
  callP50: Spread;
  callP99: Spread;
  /** Median per-pair overhead of a blocking call over an async one, from the paired phase. */
  pairedOverheadP50?: Spread;
}

function runChild(client: BlockingClientName, request: BlockingChildRequest): Promise<BlockingChildResult> {
  const [command, args] =
    client === 'pika' ? [PYTHON, [PIKA_SCRIPT, JSON.stringify(request)]] : [process.execPath, [CHILD_SCRIPT, client, JSON.stringify(request)]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`${client} child exited with ${code}: ${stderr.trim()}`));
        return;
      }
      resolve(JSON.parse(stdout) as BlockingChildResult);
    });
  });
}

function summarize(client: BlockingClientName, results: BlockingChildResult[]): ClientSummary {
  return {
    client,
    library: results[0]!.library,
    publishRate: spread(results.map((result) => result.publish.messages / result.publish.seconds)),
    cpuMicrosPerMessage: spread(results.map((result) => result.publish.cpuMicros / result.publish.messages)),
    callP50: spread(results.map((result) => result.call.p50)),
    callP99: spread(results.map((result) => result.call.p99)),
    ...(results[0]!.paired !== undefined && { pairedOverheadP50: spread(results.map((result) => result.paired!.overheadP50)) }),
  };
}

function formatSpread(value: Spread, digits: number): string {
  return `${value.median.toFixed(digits)} (${value.min.toFixed(digits)}–${value.max.toFixed(digits)})`;
}

function printReport(summaries: ClientSummary[]): Record<string, number> {
  console.log('\nclient           publish msg/s              CPU µs/msg       call p50 µs            call p99 µs');
  for (const summary of summaries) {
    console.log(
      [
        summary.client.padEnd(16),
        formatSpread(summary.publishRate, 0).padEnd(26),
        formatSpread(summary.cpuMicrosPerMessage, 1).padEnd(16),
        formatSpread(summary.callP50, 0).padEnd(22),
        formatSpread(summary.callP99, 0),
      ].join(' '),
    );
  }

  const byName = new Map(summaries.map((summary) => [summary.client, summary]));
  const blocking = byName.get('warren-blocking');
  const asyncAdapter = byName.get('warren-async');
  const pika = byName.get('pika');
  const ratios: Record<string, number> = {};
  if (blocking !== undefined && asyncAdapter !== undefined) {
    ratios.publishRateOverAsync = blocking.publishRate.median / asyncAdapter.publishRate.median;
    ratios.callP50OverheadMicros = blocking.callP50.median - asyncAdapter.callP50.median;
    console.log(`\nblocking publish rate / async adapter's: ${ratios.publishRateOverAsync.toFixed(2)} (target at least 0.50)`);
    console.log(`call p50, blocking minus async, from separate processes: ${ratios.callP50OverheadMicros.toFixed(0)} µs`);
  }
  if (blocking?.pairedOverheadP50 !== undefined) {
    ratios.pairedCallOverheadMicros = blocking.pairedOverheadP50.median;
    console.log(
      `time one synchronous call adds at the median, paired in one process: ${formatSpread(blocking.pairedOverheadP50, 0)} µs (target under 50 µs)`,
    );
  }
  if (blocking !== undefined && pika !== undefined) {
    ratios.publishRateOverPika = blocking.publishRate.median / pika.publishRate.median;
    console.log(`blocking publish rate / Pika's: ${ratios.publishRateOverPika.toFixed(2)} (target above 1)`);
  }
  return ratios;
}

/** Every client, except Pika when the Python that should run it cannot import it. */
function defaultClients(): BlockingClientName[] {
  const pika = spawnSync(PYTHON, ['-c', 'import pika'], { stdio: 'ignore' });
  if (pika.status === 0) return [...BLOCKING_CLIENT_NAMES];

  console.log(`${PYTHON} cannot import pika, so Pika is left out; install Debian's python3-pika or set PYTHON_WITH_PIKA`);
  return BLOCKING_CLIENT_NAMES.filter((client) => client !== 'pika');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      repetitions: { type: 'string', default: '3' },
      clients: { type: 'string' },
      'publish-count': { type: 'string', default: '200000' },
      'call-count': { type: 'string', default: '5000' },
      output: { type: 'string', default: DEFAULT_OUTPUT },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const clients = (values.clients?.split(',') ?? defaultClients()) as BlockingClientName[];
  for (const client of clients) {
    if (!BLOCKING_CLIENT_NAMES.includes(client)) throw new Error(`unknown client "${client}"; expected one of ${BLOCKING_CLIENT_NAMES.join(', ')}`);
  }
  const repetitions = Number(values.repetitions);
  console.log(
    `${repetitions} repetitions of ${clients.join(', ')}: ${values['publish-count']} publishes of 100 bytes, ` +
      `${values['call-count']} timed calls each`,
  );

  const results = new Map<BlockingClientName, BlockingChildResult[]>(clients.map((client) => [client, []]));
  for (let repetition = 1; repetition <= repetitions; repetition++) {
    for (const client of clients) {
      const request: BlockingChildRequest = {
        url: BROKER_URL,
        queue: `warren-bench-blocking-${randomUUID()}`,
        publishCount: Number(values['publish-count']),
        bodySize: 100,
        callCount: Number(values['call-count']),
        warmupCount: 100,
      };
      const result = await runChild(client, request);
      console.log(
        `repetition ${repetition} ${client}: ${(result.publish.messages / result.publish.seconds).toFixed(0)} msg/s, ` +
          `call p50 ${result.call.p50.toFixed(0)} µs`,
      );
      results.get(client)!.push(result);
    }
  }

  const summaries = clients.map((client) => summarize(client, results.get(client)!));
  const ratios = printReport(summaries);
  mkdirSync(dirname(values.output), { recursive: true });
  const report = { date: new Date().toISOString(), machine: describeMachine(), repetitions, summaries, ratios, results: Object.fromEntries(results) };
  writeFileSync(values.output, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${values.output}`);
}

try {
  await main();
} catch (error) {
  console.error(`blocking benchmark failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
