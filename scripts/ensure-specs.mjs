#!/usr/bin/env node
// Makes sure that the AMQP 0-9-1 specification from Debian's amqp-specs package is installed.
// Only the drift check (`pnpm --filter @warren/protocol generate:check`) reads it, and the tests do not.
// As root on Debian it installs the package with apt-get. Elsewhere it exits 1 with a message
// that names the package to install.

import { existsSync } from 'node:fs';

import { SetupError, canInstallWithApt, installDebianPackage } from './system.mjs';

const SPEC_PATH = '/usr/share/amqp/specs/0-9-1-rabbit/amqp0-9-1.stripped.extended.xml';
const SPEC_PACKAGE = 'amqp-specs';

function log(message) {
  process.stderr.write(`warren: ${message}\n`);
}

async function ensureSpecs() {
  if (existsSync(SPEC_PATH)) {
    log(`found the AMQP spec at ${SPEC_PATH}`);
    return;
  }

  if (!canInstallWithApt()) {
    throw new SetupError(
      `missing AMQP spec ${SPEC_PATH}. Install Debian's ${SPEC_PACKAGE} package ` +
        `(sudo apt-get install ${SPEC_PACKAGE}) and run this again.`,
    );
  }

  log(`missing AMQP spec ${SPEC_PATH}`);
  await installDebianPackage(SPEC_PACKAGE, log);
  if (!existsSync(SPEC_PATH)) {
    throw new SetupError(`${SPEC_PATH} is still missing after installing ${SPEC_PACKAGE}`);
  }
  log(`installed the AMQP spec at ${SPEC_PATH}`);
}

try {
  await ensureSpecs();
} catch (error) {
  if (!(error instanceof SetupError)) throw error;
  log(error.message);
  process.exit(1);
}
