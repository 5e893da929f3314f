/**
 * Benchmark runner: runs every workload for every client, each in its own child process and one
 * at a time, repeats the whole set, then writes the results as JSON and prints a Markdown table.
 *
 * Usage: node dist/run.js [options]
 *        node dist/run.js --markdown [FILE]
 * Run with --help for the options. The broker is AMQP_URL, by default
 * amqp://guest:guest@127.0.0.1:5672. Progress goes to stderr and the table to stdout.
 */
import { fork } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CLIENT_NAMES, type ClientName } from './clients/client.js';
import { CODEC_CLIENTS } from './codec/run.js';
import { Fixture } from './fixture.js';
import { describeMachine } from './machine.js';
import { renderMarkdown } from './report.js';
import type { BenchReport, BenchmarkName, ChildRequest, ChildResult, RunFailure, RunResult } from './results.js';
import { DEFAULT_SETTINGS, type PhaseResult, WORKLOAD_NAMES, type WorkloadSettings, scaleSettings } from './workloads.js';

const PACKAGE_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const CHILD_SCRIPT = join(PACKAGE_ROOT, 'dist/child.js');
const RESULTS_DIR = join(PACKAGE_ROOT, 'results');
const DEFAULT_OUTPUT = join(RESULTS_DIR, 'latest.json');
const PROFILE_DIR = join(RESULTS_DIR, 'profiles');
const DEFAULT_URL = 'amqp://guest:guest@127.0.0.1:5672';

const BENCHMARK_NAMES: readonly BenchmarkName[] = [...WORKLOAD_NAMES, 'codec'];
/** Time after which a child is killed and its run counted as failed. */
const CHILD_TIMEOUT_MS = 10 * 60 * 1000;

const HELP = `usage: node dist/run.js [options]
       node dist/run.js --markdown [FILE]

Runs each benchmark for each client in a child process, one at a time, writes the results as
JSON and prints a Markdown table of medians with min and max.

options:
  --repetitions N     runs of each benchmark per client (default 3)
  --clients LIST      comma-separated clients (default ${CLIENT_NAMES.join(',')})
  --workloads LIST    comma-separated benchmarks (default ${BENCHMARK_NAMES.join(',')})
  --scale FACTOR      multiply every message count by FACTOR, for quick trials (default 1)
  --output FILE       JSON file to write (default results/latest.json in the bench package)
  --cpu-prof          run Warren's children under node --cpu-prof; the .cpuprofile files go to
                      results/profiles/, and Warren's figures are then slower than normal
  --markdown [FILE]   print the table for a JSON file written earlier (default the --output
                      file) without running anything
  --help              print this text
`;

interface RunnerOptions {
  repetitions: number;
  clients: ClientName[];
  benchmarks: BenchmarkName[];
  scale: number;
  output: string;
  profile: boolean;
  url: string;
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      repetitions: { type: 'string', default: '3' },
      clients: { type: 'string', default: CLIENT_NAMES.join(',') },
      workloads: { type: 'string', default: BENCHMARK_NAMES.join(',') },
      scale: { type: 'string', default: '1' },
      output: { type: 'string', default: DEFAULT_OUTPUT },
      'cpu-prof': { type: 'boolean', default: false },
      markdown: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });

  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.markdown) {
    const file = resolve(positionals[0] ?? values.output);
    process.stdout.write(renderMarkdown(JSON.parse(readFileSync(file, 'utf8')) as BenchReport));
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"; only --markdown takes a file`);

  const options: RunnerOptions = {
    repetitions: parsePositive('repetitions', values.repetitions, Number.isSafeInteger),
    clients: parseList('clients', values.clients, CLIENT_NAMES),
    benchmarks: parseList('workloads', values.workloads, BENCHMARK_NAMES),
    scale: parsePositive('scale', values.scale, Number.isFinite),
    output: resolve(values.output),
    profile: values['cpu-prof'],
    url: process.env.AMQP_URL || DEFAULT_URL,
  };
  const report = await runAll(options);

  mkdirSync(dirname(options.output), { recursive: true });
  writeFileSync(options.output, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${options.output}`);
  process.stdout.write(renderMarkdown(report));
  return report.failures.length === 0 ? 0 : 1;
}

async function runAll(options: RunnerOptions): Promise<BenchReport> {
  const settings = scaleSettings(DEFAULT_SETTINGS, options.scale);
  const fixture = await Fixture.open(options.url);
  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    machine: describeMachine(),
    node: process.version,
    broker: fixture.broker,
    libraries: {},
    repetitions: options.repetitions,
    scale: options.scale,
    settings,
    profiled: options.profile,
    runs: [],
    failures: [],
  };
  if (options.profile) log(`profiling Warren's children into ${PROFILE_DIR}`);

  try {
    for (const benchmark of options.benchmarks) {
      const clients = benchmark === 'codec' ? options.clients.filter((client) => CODEC_CLIENTS.includes(client)) : options.clients;
      for (let repetition = 1; repetition <= options.repetitions; repetition++) {
        // Each repetition starts with a different client, so that none always runs first.
        for (const client of rotate(clients, repetition - 1)) {
          const label = `${benchmark} ${repetition}/${options.repetitions} ${client}`;
          try {
            const result = await runOne(fixture, options, settings, client, benchmark, repetition);
            report.runs.push({ ...result, repetition });
            report.libraries[client] = result.library;
            log(`${label}: ${result.phases.map(describePhase).join('; ')}`);
          } catch (error) {
            const failure: RunFailure = { client, benchmark, repetition, error: error instanceof Error ? error.message : String(error) };
            report.failures.push(failure);
            log(`${label} failed: ${failure.error}`);
          }
        }
      }
    }
  } finally {
    await fixture.close();
  }

  report.finishedAt = new Date().toISOString();
  return report;
}

/** Prepares a fresh queue, runs one child, and deletes the queue whatever the outcome. */
async function runOne(
  fixture: Fixture,
  options: RunnerOptions,
  settings: WorkloadSettings,
  client: ClientName,
  benchmark: BenchmarkName,
  repetition: number,
): Promise<ChildResult> {
  const request: ChildRequest = { client, benchmark, url: options.url, queue: '', settings };
  const execArgv = options.profile && client === 'warren' ? profileArguments(benchmark, repetition) : [];
  if (benchmark === 'codec') return runChild(request, execArgv);

  request.queue = await fixture.createQueue(`warren-bench-${benchmark}-${client}-${repetition}`);
  try {
    if (benchmark === 'consume') await fixture.prefill(request.queue, settings.consumeCount, settings.bodySize);
    return await runChild(request, execArgv);
  } finally {
    await fixture.deleteQueue(request.queue);
  }
}

function profileArguments(benchmark: BenchmarkName, repetition: number): string[] {
  mkdirSync(PROFILE_DIR, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=warren-${benchmark}-${repetition}.cpuprofile`];
}

/** Starts the child and resolves with its result; rejects when it reports an error, exits early or times out. */
function runChild(request: ChildRequest, execArgv: string[]): Promise<ChildResult> {
  return new Promise<ChildResult>((resolvePromise, reject) => {
    const child = fork(CHILD_SCRIPT, [JSON.stringify(request)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let message: { result: ChildResult } | { error: string } | undefined;
    const timer = setTimeout(() => {
      reject(new Error(`the child did not finish within ${CHILD_TIMEOUT_MS / 1000} s and was killed`));
      child.kill('SIGKILL');
    }, CHILD_TIMEOUT_MS);

    child.on('message', (received) => {
      message = received as typeof message;
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (message === undefined) reject(new Error(`the child exited with ${signal ?? `code ${code}`} before reporting a result`));
      else if ('error' in message) reject(new Error(message.error));
      else resolvePromise(message.result);
    });
  });
}

function describePhase(phase: PhaseResult): string {
  const rate = Math.round(phase.messages / phase.seconds).toLocaleString('en-US');
  const cpu = (phase.cpuMicros / phase.messages).toFixed(2);
  const latency = phase.latency === undefined ? '' : `, p50 ${phase.latency.p50.toFixed(3)} ms, p99 ${phase.latency.p99.toFixed(3)} ms`;
  return `${phase.name} ${rate}/s, ${cpu} µs CPU each${latency}`;
}

function rotate<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return [];
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

class UsageError extends Error {}

/** Returns whether `error` is a command-line error, raised by this runner or by `parseArgs`. */
function isUsageError(error: unknown): error is Error {
  if (error instanceof UsageError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

function parsePositive(name: string, text: string, accepts: (value: number) => boolean): number {
  const value = Number(text);
  if (!accepts(value) || value <= 0) throw new UsageError(`--${name} must be a positive number; got "${text}"`);
  return value;
}

function parseList<T extends string>(name: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(',').map((item) => item.trim()).filter((item) => item !== '');
  const unknown = items.find((item) => !allowed.includes(item as T));
  if (unknown !== undefined) throw new UsageError(`--${name}: unknown name "${unknown}"; expected some of ${allowed.join(', ')}`);
  if (items.length === 0) throw new UsageError(`--${name} must name at least one of ${allowed.join(', ')}`);
  return items as T[];
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (!isUsageError(error)) throw error;
  process.stderr.write(`bench: ${error.message}\n\n${HELP}`);
  process.exitCode = 2;
}
