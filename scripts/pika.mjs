// Makes Pika (Debian's python3-pika) available to the tests and the benchmark, which run Pika's
// BlockingConnection next to Warren's blocking adapter. As root on Debian it installs the package
// with apt-get; elsewhere it only logs how to install it, and those comparisons are skipped.

import { spawnSync } from 'node:child_process';

import { canInstallWithApt, installDebianPackage } from './system.mjs';

/** The interpreter that Debian's python3-pika installs into. */
export const PYTHON_WITH_PIKA = process.env.PYTHON_WITH_PIKA || '/usr/bin/python3';
const PIKA_PACKAGE = 'python3-pika';

function pikaImports() {
  const result = spawnSync(PYTHON_WITH_PIKA, ['-c', 'import pika'], { stdio: 'ignore' });
  return result.status === 0;
}

/** Installs python3-pika when it is missing and apt-get can install it; resolves to whether Pika imports. */
export async function ensurePika(log) {
  if (pikaImports()) return true;

  if (!canInstallWithApt()) {
    log(`${PYTHON_WITH_PIKA} cannot import pika, so the comparisons with Pika are skipped; install Debian's ${PIKA_PACKAGE} to run them`);
    return false;
  }
  try {
    await installDebianPackage(PIKA_PACKAGE, log);
  } catch (error) {
    log(`${error.message}, so the comparisons with Pika are skipped`);
    return false;
  }
  if (pikaImports()) return true;

  log(`${PYTHON_WITH_PIKA} still cannot import pika after installing ${PIKA_PACKAGE}, so the comparisons with Pika are skipped`);
  return false;
}
