#!/usr/bin/env node
// Sets up a checkout and runs the demo, the test suite or the benchmark. `npm run demo`, `npm test`
// and `npm run bench` call it, and it needs only Node 20 and npm, so it runs on a fresh Debian machine.
//
// Usage: node scripts/bootstrap.mjs MODE [ARGS...]
//   demo     install, make sure a broker responds, build, then run the hello example
//            (100000 messages of 100 bytes)
//   test     install, make sure a broker responds and Pika is installed, build, then run every
//            Vitest project. ARGS go to `vitest run`.
//   bench    install, make sure a broker responds and Pika is installed, build, then run the benchmark
//            (apps/bench/dist/run.js). ARGS go to the benchmark; --help lists them.
//   bench-blocking
//            the same steps, then the blocking adapter's benchmark against the async adapter and
//            Pika (apps/bench/dist/blocking/run.js). ARGS go to it; --help lists them.
//   install  install the workspace dependencies only
//   pnpm     run the same pnpm that `install` uses, with ARGS
//
// The broker is AMQP_URL, else amqp://guest:guest@127.0.0.1:5672. When none responds on a loopback
// address, scripts/broker.mjs starts or installs a local RabbitMQ. Each step logs one line, prefixed
// "warren:", to stderr.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { DEFAULT_BROKER_URL, ensureBroker } from './broker.mjs';
import { ensurePika } from './pika.mjs';
import { SetupError, runCommand } from './system.mjs';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const HELLO_EXAMPLE = join(ROOT, 'apps/examples/dist/hello.js');
const BENCH_RUNNER = join(ROOT, 'apps/bench/dist/run.js');
const BLOCKING_BENCH_RUNNER = join(ROOT, 'apps/bench/dist/blocking/run.js');
const DEMO_ARGS = ['--count', '100000', '--size', '100'];

const USAGE = 'usage: node scripts/bootstrap.mjs demo|test|bench|bench-blocking|install|pnpm [ARGS...]';
const EXIT_USAGE = 2;

function log(message) {
  process.stderr.write(`warren: ${message}\n`);
}

/**
 * @typedef {object} Pnpm
 * @property {string} command executable to spawn
 * @property {string[]} prefix arguments placed before pnpm's own arguments
 * @property {string} version
 */

/**
 * Returns the pnpm on PATH when its major version matches the "packageManager" field of the root
 * package.json. Otherwise returns that field's exact version run through `npx --yes`, which installs
 * nothing globally.
 *
 * @returns {Pnpm}
 */
function findPnpm() {
  const expectedVersion = readPackageManagerVersion();
  const expectedMajor = expectedVersion.split('.')[0];

  const found = spawnSync('pnpm', ['--version'], { cwd: ROOT, encoding: 'utf8' });
  const foundVersion = found.status === 0 ? found.stdout.trim() : undefined;
  if (foundVersion?.startsWith(`${expectedMajor}.`)) {
    log(`using pnpm ${foundVersion} from PATH`);
    return { command: 'pnpm', prefix: [], version: foundVersion };
  }

  const onPath = foundVersion === undefined ? 'no pnpm on PATH' : `pnpm on PATH is ${foundVersion}`;
  log(`${onPath}, so using npx --yes pnpm@${expectedVersion}`);
  return { command: 'npx', prefix: ['--yes', `pnpm@${expectedVersion}`], version: expectedVersion };
}

/** Reads the pnpm version from "packageManager" in the root package.json, such as "pnpm@10.34.9". */
function readPackageManagerVersion() {
  const manifestPath = join(ROOT, 'package.json');
  const field = JSON.parse(readFileSync(manifestPath, 'utf8')).packageManager;

  // Corepack allows a hash suffix, as in pnpm@10.34.9+sha512.abc.
  const match = /^pnpm@(\d+\.\d+\.\d+[^+]*)/.exec(field ?? '');
  if (match === null) {
    throw new SetupError(
      `invalid or missing "packageManager" in ${manifestPath}: expected "pnpm@X.Y.Z", found ${JSON.stringify(field)}`,
    );
  }
  return match[1];
}

function runPnpm(pnpm, args, options = {}) {
  return runCommand(pnpm.command, [...pnpm.prefix, ...args], { cwd: ROOT, ...options });
}

function installDependencies(pnpm) {
  // The lockfile is committed, so an install must never rewrite it, in CI or locally.
  log('installing dependencies (pnpm install --frozen-lockfile)');
  return runPnpm(pnpm, ['install', '--frozen-lockfile']);
}

function buildPackages(pnpm) {
  log('building all packages (pnpm turbo run build)');
  return runPnpm(pnpm, ['turbo', 'run', 'build']);
}

function runDemo(brokerUrl) {
  if (!existsSync(HELLO_EXAMPLE)) {
    throw new SetupError(`${HELLO_EXAMPLE} not found after the build; check the build of apps/examples`);
  }
  log(`running the hello example (node apps/examples/dist/hello.js ${DEMO_ARGS.join(' ')})`);
  return runCommand(process.execPath, [HELLO_EXAMPLE, ...DEMO_ARGS], {
    cwd: ROOT,
    env: { ...process.env, AMQP_URL: brokerUrl },
  });
}

function runBenchmark(runner, brokerUrl, benchArgs) {
  if (!existsSync(runner)) {
    throw new SetupError(`${runner} not found after the build; check the build of apps/bench`);
  }
  const relative = runner.slice(ROOT.length + 1);
  log(`running the benchmark (node ${relative}${benchArgs.map((arg) => ` ${arg}`).join('')})`);
  return runCommand(process.execPath, [runner, ...benchArgs], {
    cwd: ROOT,
    env: { ...process.env, AMQP_URL: brokerUrl },
  });
}

function runTests(pnpm, brokerUrl, vitestArgs) {
  log(`running the tests (pnpm vitest run${vitestArgs.map((arg) => ` ${arg}`).join('')})`);
  return runPnpm(pnpm, ['vitest', 'run', ...vitestArgs], {
    env: { ...process.env, AMQP_URL: brokerUrl },
  });
}

/** Runs the steps for `mode` in order, stopping at the first that fails, and resolves to the exit code. */
async function main([mode, ...args]) {
  const acceptsArgs = mode === 'test' || mode === 'bench' || mode === 'bench-blocking' || mode === 'pnpm';
  if (!['demo', 'test', 'bench', 'bench-blocking', 'install', 'pnpm'].includes(mode) || (args.length > 0 && !acceptsArgs)) {
    process.stderr.write(`${USAGE}\n`);
    return EXIT_USAGE;
  }

  const pnpm = findPnpm();
  if (mode === 'pnpm') return runPnpm(pnpm, args);

  const installCode = await installDependencies(pnpm);
  if (installCode !== 0) return reportFailure('pnpm install', installCode);
  if (mode === 'install') return 0;

  const brokerUrl = process.env.AMQP_URL || DEFAULT_BROKER_URL;
  await ensureBroker(brokerUrl, log);
  // Pika is the peer of the blocking adapter in one test file and in the benchmark.
  if (mode !== 'demo') await ensurePika(log);

  const buildCode = await buildPackages(pnpm);
  if (buildCode !== 0) return reportFailure('the build', buildCode);

  if (mode === 'demo') return runDemo(brokerUrl);
  if (mode === 'bench') return runBenchmark(BENCH_RUNNER, brokerUrl, args);
  if (mode === 'bench-blocking') return runBenchmark(BLOCKING_BENCH_RUNNER, brokerUrl, args);
  return runTests(pnpm, brokerUrl, args);
}

function reportFailure(step, code) {
  log(`${step} failed with exit code ${code}`);
  return code;
}

try {
  process.exit(await main(process.argv.slice(2)));
} catch (error) {
  if (!(error instanceof SetupError)) throw error;
  log(error.message);
  process.exit(1);
}
