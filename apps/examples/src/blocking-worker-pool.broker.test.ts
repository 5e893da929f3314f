/**
 * Runs the blocking worker-pool example against RabbitMQ at AMQP_URL, by default
 * amqp://guest:guest@127.0.0.1:5672. Its Workers run the built dist/worker-pool-worker.js, and
 * the blocking adapter starts its I/O thread from its own build, so build first: `npm test`
 * runs `pnpm turbo run build` before Vitest. It takes about 11 s.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runBlockingWorkerPool } from './blocking-worker-pool.js';

const BROKER_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
const WORKER_URL = new URL('../dist/worker-pool-worker.js', import.meta.url);

describe('runBlockingWorkerPool', () => {
  it('acks through worker handles and keeps the connection', () => {
    if (!existsSync(fileURLToPath(WORKER_URL))) {
      throw new Error(`${fileURLToPath(WORKER_URL)} not found; run \`pnpm turbo run build\` first (\`npm test\` builds before it runs Vitest)`);
    }
    const lines: string[] = [];
    const result = runBlockingWorkerPool({
      url: BROKER_URL,
      messages: 4,
      workers: 2,
      burnMs: 2500,
      heartbeat: 1,
      workerUrl: WORKER_URL,
      log: (line) => lines.push(line),
    });

    expect(result.heartbeatSeconds).toBe(1);
    expect(result.acked).toBe(4);
    expect(result.remaining).toBe(0);
    expect(result.connectionOpen).toBe(true);
    expect(result.seconds).toBeGreaterThanOrEqual(5);
    const ackLines = lines.filter((line) => /^worker \d acked delivery tag \d after a \d+ ms handler; connection open: true$/.test(line));
    expect(ackLines, lines.join('\n')).toHaveLength(4);
  }, 30_000);

  it('keeps the connection while the main thread burns CPU', () => {
    const lines: string[] = [];
    const result = runBlockingWorkerPool({
      url: BROKER_URL,
      messages: 2,
      workers: 0,
      burnMs: 2500,
      heartbeat: 1,
      log: (line) => lines.push(line),
    });

    expect(result.acked).toBe(2);
    expect(result.remaining).toBe(0);
    expect(result.connectionOpen).toBe(true);
    const ackLines = lines.filter((line) => /^main thread acked delivery tag \d after a \d+ ms handler; connection open: true$/.test(line));
    expect(ackLines, lines.join('\n')).toHaveLength(2);
  }, 30_000);
});
