import { createRequire } from 'node:module';

type Fs = typeof import('node:fs');
type Tls = typeof import('node:tls');
type WorkerThreads = typeof import('node:worker_threads');

/**
 * `require` for Node's built-in modules that only some features use, so that each loads when a
 * feature first needs it. A static import would load them with the package: `node:tls` with
 * Node's crypto modules alone adds about 1.5 MiB of RSS (Node 20 on x86-64). `require` loads
 * synchronously, in the ESM build as in the CommonJS one, whereas a dynamic `import()` fails in
 * hosts that compile modules without an import callback, such as Jest by default.
 */
const requireBuiltin = createRequire(import.meta.url);

let fs: Fs | undefined;
let tls: Tls | undefined;
let workerThreads: WorkerThreads | undefined;

/** Returns `node:fs`, for TLS options that name files. */
export function loadFs(): Fs {
  fs ??= requireBuiltin('node:fs') as Fs;
  return fs;
}

/** Returns `node:tls`, for TLS connections. */
export function loadTls(): Tls {
  tls ??= requireBuiltin('node:tls') as Tls;
  return tls;
}

/** Returns `node:worker_threads`, for channel handles. */
export function loadWorkerThreads(): WorkerThreads {
  workerThreads ??= requireBuiltin('node:worker_threads') as WorkerThreads;
  return workerThreads;
}

/**
 * `util.inspect.custom`, which Node registers as this global symbol. Node passes `util.inspect`
 * to a custom inspection method as its third argument, so the package does not import
 * `node:util`, whose ES module namespace would load parts of Node that the package never uses.
 */
export const INSPECT_CUSTOM: unique symbol = Symbol.for('nodejs.util.inspect.custom');
