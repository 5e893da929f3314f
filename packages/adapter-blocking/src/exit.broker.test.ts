/**
 * Scripts that never call `close()` still exit, against RabbitMQ at AMQP_URL (by default
 * amqp://guest:guest@127.0.0.1:5672). Each runs exit.child.mjs in its own Node process, which
 * imports the built package: build first (`npm test` does).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BlockingConnection } from '@warren/adapter-blocking';

const BROKER_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
const CHILD_SCRIPT = fileURLToPath(new URL('./exit.child.mjs', import.meta.url));
/** Time in which a finished script must exit; the close at exit waits at most 1 s for the broker. */
const EXIT_WITHIN_MS = 5000;

const control = new BlockingConnection(BROKER_URL);
const queues: string[] = [];

afterAll(() => {
  const channel = control.channel();
  for (const queue of queues) channel.queueDelete(queue);
  control.close();
});

function declareQueue(): string {
  const queue = `warren-exit-${randomUUID()}`;
  control.channel().queueDeclare(queue);
  queues.push(queue);
  return queue;
}

interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Time from the script's last line to the exit of its process. */
  exitAfterEndMs: number;
}

function runChild(config: object): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD_SCRIPT, JSON.stringify(config)]);
    let stdout = '';
    let stderr = '';
    let endedAt: number | undefined;
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (endedAt === undefined && stdout.includes('end of script')) endedAt = performance.now();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, exitAfterEndMs: performance.now() - (endedAt ?? Infinity) });
    });
  });
}

describe('process exit', () => {
  it('exits after publishing without close', async () => {
    const queue = declareQueue();
    const run = await runChild({ url: BROKER_URL, queue, count: 1000, consume: false });

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.exitAfterEndMs).toBeLessThan(EXIT_WITHIN_MS);
    // Every pipelined publish was written before the process ended.
    expect(control.channel().queueDeclare(queue, { passive: true }).messageCount).toBe(1000);
    // The connection was closed with close and close-ok, not dropped.
    expect(run.stdout).toMatch(/info: closed the connection to amqp:\/\//);
  });

  it('exits after consuming without close', async () => {
    const queue = declareQueue();
    const run = await runChild({ url: BROKER_URL, queue, count: 50, consume: true });

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('received 50');
    expect(run.exitAfterEndMs).toBeLessThan(EXIT_WITHIN_MS);
    expect(control.channel().queueDeclare(queue, { passive: true }).messageCount).toBe(0);
  });
});
