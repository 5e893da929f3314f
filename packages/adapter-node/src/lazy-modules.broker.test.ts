/**
 * Which of Node's modules the adapter loads, against RabbitMQ at AMQP_URL (by default
 * amqp://guest:guest@127.0.0.1:5672). `node:tls` and `node:crypto` add about 1.5 MiB of RSS, so
 * only a TLS connection loads them, and only channel handles load `node:worker_threads`. Each check runs in a fresh child process, because the test
 * runner has loaded both modules already. The child loads the built package from ../dist, so
 * build first: `npm test` runs `pnpm turbo run build` before Vitest.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BROKER_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
const BUILT_ESM = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const BUILT_COMMONJS = fileURLToPath(new URL('../dist/index.cjs', import.meta.url));
const CHILD_TIMEOUT_MS = 30_000;

/** Child code that loads the ESM build. */
const LOAD_ESM = `const warren = await import(process.env.WARREN_PACKAGE);`;

/**
 * Child code that loads the CommonJS build the way Jest and other CommonJS test runners do: it
 * compiles the source with `vm` and no callback for a dynamic `import()`, which then throws.
 */
const LOAD_COMMONJS = `
const { readFileSync } = await import('node:fs');
const { dirname } = await import('node:path');
const { createRequire } = await import('node:module');
const vm = await import('node:vm');
const file = process.env.WARREN_PACKAGE;
const source = '(function (exports, require, module, __filename, __dirname) {' + readFileSync(file, 'utf8') + '\\n})';
const wrapper = vm.runInThisContext(source, { filename: file });
const commonJsModule = { exports: {} };
wrapper(commonJsModule.exports, createRequire(file), commonJsModule, file, dirname(file));
const warren = commonJsModule.exports;
`;

/**
 * Publishes, consumes and makes an RPC call over plain TCP, then tries a TLS connection to a
 * port where nothing listens. It prints which modules were loaded after each step.
 * `process.moduleLoadList` names each of Node's built-in modules once it has loaded.
 */
const WORK_SCRIPT = `
const { connect, RpcClient, serveRpc } = warren;
const loaded = () => ({
  net: process.moduleLoadList.includes('NativeModule net'),
  tls: process.moduleLoadList.includes('NativeModule tls'),
  crypto: process.moduleLoadList.includes('NativeModule crypto'),
  workerThreads: process.moduleLoadList.includes('NativeModule worker_threads'),
});
const afterImport = loaded();

const connection = await connect(process.env.AMQP_URL);
const channel = await connection.channel();
const { queue } = await channel.queueDeclare('', { exclusive: true });
await channel.basicPublish('', queue, 'one');
const fetched = await channel.basicGet(queue, { noAck: true });
const server = await serveRpc(await connection.channel(), queue, (request) => 'reply to ' + request.body);
const client = await RpcClient.create(await connection.channel());
const reply = await client.call('', queue, 'ping');
await client.close();
await server.close();
await connection.close();
const afterTcp = loaded();

const tlsError = await connect('amqps://127.0.0.1:1').catch((error) => error);
const afterTls = loaded();

console.log(JSON.stringify({
  afterImport,
  afterTcp,
  afterTls,
  fetched: fetched && fetched.body.toString(),
  reply: reply.body.toString(),
  tlsErrorCode: tlsError.code,
}));
`;

interface Loaded {
  net: boolean;
  tls: boolean;
  crypto: boolean;
  workerThreads: boolean;
}

interface ChildOutput {
  afterImport: Loaded;
  afterTcp: Loaded;
  afterTls: Loaded;
  fetched: string | null;
  reply: string;
  tlsErrorCode: string;
}

function runChild(loadPackage: string, builtPackage: string): ChildOutput {
  const result = spawnSync(process.execPath, ['--input-type=module', '--eval', loadPackage + WORK_SCRIPT], {
    env: { ...process.env, WARREN_PACKAGE: builtPackage, AMQP_URL: BROKER_URL },
    encoding: 'utf8',
    timeout: CHILD_TIMEOUT_MS,
  });
  if (result.status !== 0) {
    throw new Error(`the child exited with status ${result.status} (signal ${result.signal}):\n${result.stdout}${result.stderr}`);
  }
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as ChildOutput;
}

describe('lazy modules', () => {
  it.each([
    ['ESM', LOAD_ESM, BUILT_ESM],
    ['CommonJS', LOAD_COMMONJS, BUILT_COMMONJS],
  ])('%s build: only TLS loads tls', (_build, loadPackage, builtPackage) => {
    const output = runChild(loadPackage, builtPackage);

    // The work over TCP succeeded, and the module list shows that the socket module loaded.
    expect(output.fetched).toBe('one');
    expect(output.reply).toBe('reply to ping');
    expect(output.afterTcp.net).toBe(true);

    expect(output.afterImport.tls).toBe(false);
    expect(output.afterImport.crypto).toBe(false);
    expect(output.afterTcp.tls).toBe(false);
    expect(output.afterTcp.crypto).toBe(false);
    // Only channel handles use worker_threads.
    expect(output.afterTcp.workerThreads).toBe(false);

    expect(output.tlsErrorCode).toBe('CONNECT_FAILED');
    expect(output.afterTls.tls).toBe(true);
    expect(output.afterTls.crypto).toBe(true);
  });
});
