// Helpers shared by the setup scripts: running commands, finding executables and
// installing Debian packages. Only node: built-ins, because these run before `pnpm install`.

import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { delimiter, join } from 'node:path';

/** An expected setup failure. Its message is shown to the user without a stack trace. */
export class SetupError extends Error {
  name = 'SetupError';
}

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM'];

/**
 * Runs a command and resolves to its exit code, or 128 + the signal number when a signal ended it.
 * While the child runs, SIGINT and SIGTERM sent to this process are forwarded to it, so the child
 * decides how to stop. Rejects with a SetupError when the command cannot be started at all.
 *
 * @param {string} command
 * @param {string[]} args
 * @param {import('node:child_process').SpawnOptions} [options] defaults to inherited stdio
 * @returns {Promise<number>}
 */
export function runCommand(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', ...options });

    const forwardSignal = (signal) => child.kill(signal);
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forwardSignal);
    const stopForwarding = () => {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forwardSignal);
    };

    child.once('error', (error) => {
      stopForwarding();
      reject(new SetupError(`failed to start ${command}: ${error.message}`));
    });

    child.once('exit', (code, signal) => {
      stopForwarding();
      if (signal !== null) {
        resolve(128 + (osConstants.signals[signal] ?? 0));
      } else {
        resolve(code ?? 1);
      }
    });
  });
}

/** Returns the full path of the first executable called `name` on PATH, or undefined. */
export function findExecutable(name) {
  const directories = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const directory of directories) {
    const candidate = join(directory, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** Returns whether `path` exists and this process may execute it. */
export function isExecutableFile(path) {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Returns whether this process runs as root on Debian (or a derivative), so `apt-get install` works. */
export function canInstallWithApt() {
  return process.getuid?.() === 0 && existsSync('/etc/debian_version');
}

/**
 * Installs a Debian package with `apt-get update` and `apt-get install -y`, printing apt's output.
 * Throws a SetupError naming the failed command and its exit code.
 *
 * @param {string} packageName
 * @param {(message: string) => void} log
 */
export async function installDebianPackage(packageName, log) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };

  log(`installing Debian package ${packageName} (apt-get update, apt-get install -y ${packageName})`);
  const steps = [
    ['update'],
    ['install', '-y', packageName],
  ];
  for (const args of steps) {
    const code = await runCommand('apt-get', args, { env });
    if (code !== 0) {
      throw new SetupError(`apt-get ${args.join(' ')} failed with exit code ${code}`);
    }
  }
}
