/**
 * Memory use of a publisher that awaits every `basicPublish`, against RabbitMQ at AMQP_URL (by
 * default amqp://guest:guest@127.0.0.1:5672). The publisher runs in a child process,
 * publish-memory.child.mjs, so that the test runner's own memory does not count. The child
 * imports the built package from ../dist, so build first: `npm test` runs
 * `pnpm turbo run build` before Vitest.
 *
 * NOTE: the run keeps the broker busy for about 20 s, which slows test files that run in
 * parallel with it. It took 17 to 20 s on a 2-CPU container with RabbitMQ 3.10.8 on the same
 * machine.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_FLUSH_THRESHOLD } from './write-batcher.js';

const BROKER_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';

const CHILD_SCRIPT = fileURLToPath(new URL('./publish-memory.child.mjs', import.meta.url));
const BUILT_PACKAGE = fileURLToPath(new URL('../dist/index.js', import.meta.url));
/** Sources that the built package comes from, to warn when it is older than they are. */
const SOURCE_DIRECTORIES = [fileURLToPath(new URL('.', import.meta.url)), fileURLToPath(new URL('../../protocol/src', import.meta.url))];

const MESSAGE_COUNT = 1_000_000;
const BODY_SIZE = 1024;
/** The default of `ConnectOptions.writeHighWaterMark`, passed explicitly so the bound below uses the same value. */
const WRITE_HIGH_WATER_MARK = 1024 * 1024;
/**
 * Bytes of one publish on the wire beyond its body: three frame headers and end octets, the
 * basic.publish method and the content header. About 80 bytes here; 256 leaves room.
 */
const FRAMING_ALLOWANCE = 256;
const MAX_RSS_BYTES = 200 * 1024 * 1024;
/** `x-max-length` of the queue: the broker keeps only the newest messages. */
const KEPT_MESSAGES = 1000;
const SAMPLE_INTERVAL_MS = 50;
const TEST_TIMEOUT_MS = 180_000;
/** Time after which the child is killed, so it ends before the test times out. */
const CHILD_TIMEOUT_MS = 170_000;

const MIB = 1024 * 1024;

/** What publish-memory.child.mjs prints on success. */
interface ChildResult {
  published: number;
  publishMs: number;
  roundTripMs: number;
  peakBufferedBytes: number;
  keptCount: number;
  oldestKeptIndex: number | null;
  blockedReasons: string[];
  peakRssBytes: number;
  maxRssBytes: number;
  rssSamples: number;
}

let runningChild: ChildProcess | undefined;

afterEach(() => {
  // A child that outlived its test, for example after a timeout, is ended by its pid.
  if (runningChild !== undefined && runningChild.exitCode === null) runningChild.kill('SIGKILL');
  runningChild = undefined;
});

/** Returns the newest modification time of the non-test TypeScript files under `directory`. */
function newestSourceMtimeMs(directory: string): number {
  let newest = 0;
  for (const entry of readdirSync(directory, { recursive: true, encoding: 'utf8' })) {
    if (!entry.endsWith('.ts') || entry.endsWith('.test.ts')) continue;
    newest = Math.max(newest, statSync(join(directory, entry)).mtimeMs);
  }
  return newest;
}

function assertBuiltPackage(): void {
  if (!existsSync(BUILT_PACKAGE)) {
    throw new Error(`${BUILT_PACKAGE} not found; run \`pnpm turbo run build\` first (\`npm test\` builds before it runs Vitest)`);
  }
  const builtAt = statSync(BUILT_PACKAGE).mtimeMs;
  const sourceAt = Math.max(...SOURCE_DIRECTORIES.map(newestSourceMtimeMs));
  if (sourceAt > builtAt) {
    console.warn(`publish-memory: ${BUILT_PACKAGE} is older than the sources, so this run measures the last build; run \`pnpm turbo run build\``);
  }
}

/** Runs the child with `config` and returns the JSON it prints; rejects with its output when it fails. */
function runChild(config: Record<string, unknown>): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD_SCRIPT, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
    runningChild = child;
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);

    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lastLine = stdout.trim().split('\n').at(-1) ?? '';
      let output: (ChildResult & { error?: unknown }) | undefined;
      try {
        output = JSON.parse(lastLine) as ChildResult & { error?: unknown };
      } catch {
        output = undefined;
      }
      if (code === 0 && output !== undefined && output.error === undefined) {
        resolve(output);
        return;
      }
      const ending = signal === null ? `exit code ${code}` : `signal ${signal}${signal === 'SIGKILL' ? ` (killed after ${CHILD_TIMEOUT_MS} ms?)` : ''}`;
      reject(new Error(`publish-memory.child.mjs failed with ${ending}\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  });
}

describe('publish memory', () => {
  it(
    'awaited publishes keep RSS bounded',
    async () => {
      assertBuiltPackage();

      const result = await runChild({
        url: BROKER_URL,
        connectionName: `warren-test-publish-memory-${randomUUID()}`,
        writeHighWaterMark: WRITE_HIGH_WATER_MARK,
        count: MESSAGE_COUNT,
        bodySize: BODY_SIZE,
        maxLength: KEPT_MESSAGES,
        sampleIntervalMs: SAMPLE_INTERVAL_MS,
      });

      const rate = Math.round(result.published / (result.publishMs / 1000));
      console.log(
        `publish-memory: ${result.published} messages of ${BODY_SIZE} B in ${(result.publishMs / 1000).toFixed(1)} s ` +
          `(${rate} messages/s), round trip ${result.roundTripMs.toFixed(0)} ms; ` +
          `peak RSS ${(result.peakRssBytes / MIB).toFixed(1)} MiB sampled every ${SAMPLE_INTERVAL_MS} ms (${result.rssSamples} samples), ` +
          `${(result.maxRssBytes / MIB).toFixed(1)} MiB from getrusage; peak socket buffer ${result.peakBufferedBytes} B` +
          (result.blockedReasons.length > 0 ? `; blocked by the broker: ${result.blockedReasons.join(', ')}` : ''),
      );

      expect(result.published).toBe(MESSAGE_COUNT);
      // The queue keeps the newest messages and drops the oldest. So a full queue that starts at
      // this index contains exactly the last KEPT_MESSAGES messages, and none of them was lost.
      expect(result.keptCount).toBe(KEPT_MESSAGES);
      expect(result.oldestKeptIndex).toBe(MESSAGE_COUNT - KEPT_MESSAGES);

      expect(result.peakRssBytes).toBeLessThan(MAX_RSS_BYTES);
      expect(result.maxRssBytes).toBeLessThan(MAX_RSS_BYTES);
      // A loop that never yields to timers would also starve the sampler, and its peak would mean little.
      expect(result.rssSamples).toBeGreaterThanOrEqual(Math.floor(result.publishMs / SAMPLE_INTERVAL_MS / 2));

      // The loop fills the socket buffer to the high-water mark before it waits for a drain. So
      // the peak is at least the mark and at most one message above it, and the bound allows two.
      expect(result.peakBufferedBytes).toBeGreaterThanOrEqual(WRITE_HIGH_WATER_MARK);
      // Besides the socket, up to one flush threshold of frames waits in the write batcher.
      expect(result.peakBufferedBytes).toBeLessThan(WRITE_HIGH_WATER_MARK + DEFAULT_FLUSH_THRESHOLD + 2 * (BODY_SIZE + FRAMING_ALLOWANCE));
    },
    TEST_TIMEOUT_MS,
  );
});
