/**
 * Runs each built example as a script, as its header comment describes, against RabbitMQ at
 * AMQP_URL (by default amqp://guest:guest@127.0.0.1:5672). The other example tests call the
 * exported functions, so only these show that a script runs at all. Build first: `npm test`
 * runs `pnpm turbo run build` before Vitest.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);
const DIST = fileURLToPath(new URL('../dist/', import.meta.url));

async function runScript(script: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, [`${DIST}${script}`, ...args], { timeout: 30_000 });
  return stdout;
}

describe('example scripts', () => {
  it('hello runs', async () => {
    const output = await runScript('hello.js', ['--count', '10', '--size', '16']);
    expect(output).toMatch(/consumed 10 in/);
  });

  it('worker-pool runs', async () => {
    const output = await runScript('worker-pool.js', ['--messages', '2', '--burn-ms', '10']);
    expect(output).toMatch(/acked 2 of 2 in .*; 0 left in the queue; connection open: true/);
  });

  it('blocking-worker-pool runs', async () => {
    const output = await runScript('blocking-worker-pool.js', ['--messages', '2', '--burn-ms', '10']);
    expect(output).toMatch(/acked 2 of 2 in .*; 0 left in the queue; connection open: true/);
  });
});
