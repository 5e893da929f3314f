/**
 * Runs the worker-pool example against RabbitMQ at AMQP_URL, by default
 * amqp://guest:guest@127.0.0.1:5672. Its Workers run the built dist/worker-pool-worker.js,
 * because Node 20 cannot load TypeScript in a Worker, so build first: `npm test` runs
 * `pnpm turbo run build` before Vitest. It takes about 5 s.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runWorkerPool } from './worker-pool.js';

const BROKER_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
const WORKER_URL = new URL('../dist/worker-pool-worker.js', import.meta.url);

describe('runWorkerPool', () => {
  it('acks every message and keeps the connection', async () => {
    if (!existsSync(fileURLToPath(WORKER_URL))) {
      throw new Error(`${fileURLToPath(WORKER_URL)} not found; run \`pnpm turbo run build\` first (\`npm test\` builds before it runs Vitest)`);
    }
    const lines: string[] = [];

    // Each handler burns the CPU for 2.5 heartbeat intervals. On the connection's thread it would
    // stop the client's heartbeats for that long; in a Worker the heartbeats keep flowing.
    const result = await runWorkerPool({
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
    expect(result.closeErrors).toEqual([]);
    expect(result.seconds).toBeGreaterThanOrEqual(5);
    expect(lines.filter((line) => /^worker \d acked delivery tag \d after a \d+ ms handler; connection open: true$/.test(line)), lines.join('\n')).toHaveLength(4);
  }, 30_000);
});
