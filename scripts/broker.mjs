// Finds out whether an AMQP 0-9-1 broker accepts connections, and starts or installs a local
// RabbitMQ when none does. Used by scripts/bootstrap.mjs, so it imports only node: built-ins.

import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { isIP, isIPv4, connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as connectTls } from 'node:tls';

import {
  SetupError,
  canInstallWithApt,
  findExecutable,
  installDebianPackage,
  isExecutableFile,
  runCommand,
} from './system.mjs';

/** Broker used when AMQP_URL is not set: RabbitMQ's default user on its default local port. */
export const DEFAULT_BROKER_URL = 'amqp://guest:guest@127.0.0.1:5672';

const DEFAULT_PORTS = { 'amqp:': 5672, 'amqps:': 5671 };
const RABBITMQ_DEFAULT_PORT = 5672;

// The client opens with "AMQP" 0 0 9 1. A broker that supports 0-9-1 replies with a frame whose
// first byte is the frame type, 1 (method) for connection.start. A broker that does not support the
// version replies with its own protocol header, which starts with "A".
const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
const FRAME_METHOD = 1;

const PROBE_TIMEOUT_MS = 2_000;
const START_TIMEOUT_MS = 60_000;
const START_POLL_INTERVAL_MS = 1_000;
const RABBITMQ_SERVER_PATH = '/usr/sbin/rabbitmq-server';

/**
 * @typedef {object} BrokerAddress
 * @property {'amqp' | 'amqps'} scheme
 * @property {string} host host name or IP address, without the brackets of an IPv6 literal
 * @property {number} port
 * @property {boolean} tls whether the broker expects TLS (amqps)
 * @property {boolean} loopback whether host is localhost or a loopback address
 * @property {string} display `scheme://host:port` without credentials or vhost, safe to print
 */

/**
 * Parses an amqp:// or amqps:// URL into the address to connect to.
 * Throws a SetupError when the URL is invalid. Neither the result's `display` nor any error
 * message contains the URL's user name or password.
 *
 * @param {string} url
 * @returns {BrokerAddress}
 */
export function parseBrokerAddress(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    // The raw URL is not repeated because it may contain a password.
    throw new SetupError(
      'invalid broker URL, which is not shown because it may contain a password. ' +
        'Expected amqp://user:password@host:port/vhost or amqps://...',
    );
  }

  const defaultPort = DEFAULT_PORTS[parsed.protocol];
  if (defaultPort === undefined) {
    throw new SetupError(`invalid broker URL scheme "${parsed.protocol}". Expected amqp: or amqps:`);
  }
  if (parsed.hostname === '') {
    throw new SetupError(`invalid broker URL: the host is missing. Expected ${parsed.protocol}//host:port`);
  }

  const port = parsed.port === '' ? defaultPort : Number(parsed.port);
  if (port === 0) {
    throw new SetupError('invalid broker URL: port 0 is not a valid port to connect to');
  }

  // URL does not lowercase the host of a non-special scheme such as amqp:, but host names are
  // case-insensitive. It keeps the brackets of an IPv6 literal, which net.connect does not accept.
  const hostInUrl = parsed.hostname.toLowerCase();
  const host = hostInUrl.replace(/^\[(.*)\]$/, '$1');
  const scheme = parsed.protocol === 'amqps:' ? 'amqps' : 'amqp';

  return {
    scheme,
    host,
    port,
    tls: scheme === 'amqps',
    loopback: isLoopbackHost(host),
    display: `${scheme}://${hostInUrl}:${port}`,
  };
}

function isLoopbackHost(host) {
  if (host === 'localhost' || host === '::1') return true;
  return isIPv4(host) && host.startsWith('127.');
}

/**
 * Resolves to true when a broker at host:port replies to the AMQP 0-9-1 protocol header with a
 * method frame, which is how connection.start arrives. Resolves to false on any other reply, on a
 * connection error, or when no reply comes within timeoutMs. The socket is closed either way.
 *
 * @param {{ host: string, port: number, timeoutMs?: number, tls?: boolean }} options
 *   `timeoutMs` defaults to 2000. `tls`, for amqps, wraps the probe in TLS and defaults to false.
 * @returns {Promise<boolean>}
 */
export async function probeBroker(options) {
  const result = await probeBrokerWithReason(options);
  return result.up;
}

/**
 * Runs the probe of probeBroker and resolves to whether the broker is up and, if not, why.
 *
 * @returns {Promise<{ up: boolean, reason: string }>}
 */
function probeBrokerWithReason({ host, port, timeoutMs = PROBE_TIMEOUT_MS, tls = false }) {
  return new Promise((resolve) => {
    // The probe sends no credentials and only checks that a broker replies, so it accepts any TLS
    // certificate.
    const socket = tls
      ? connectTls({ host, port, servername: isIP(host) ? undefined : host, rejectUnauthorized: false })
      : connectTcp({ host, port });

    let settled = false;
    const finish = (up, reason) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ up, reason });
    };

    const timer = setTimeout(() => finish(false, `no reply within ${timeoutMs} ms`), timeoutMs);

    socket.once(tls ? 'secureConnect' : 'connect', () => socket.write(PROTOCOL_HEADER));
    socket.once('data', (chunk) => {
      if (chunk[0] === FRAME_METHOD) {
        finish(true, 'replied with connection.start');
      } else if (chunk.subarray(0, 4).toString('latin1') === 'AMQP') {
        finish(false, 'the server does not support AMQP 0-9-1 and replied with its own protocol header');
      } else {
        finish(false, `unexpected reply starting with byte 0x${chunk[0].toString(16).padStart(2, '0')}`);
      }
    });
    socket.on('error', (error) => finish(false, error.code ?? error.message));
    socket.on('close', () => finish(false, 'connection closed without a reply'));
  });
}

/**
 * Makes sure that a broker responds at `url` and returns its address.
 *
 * When none responds and the host is loopback, this starts the local RabbitMQ with
 * `rabbitmq-server -detached`, first installing Debian's rabbitmq-server package if it is missing
 * and this process runs as root on Debian. It then waits up to 60 s for the broker.
 * Throws a SetupError that names the next step to take when no broker can be reached or started.
 *
 * @param {string} [url] defaults to DEFAULT_BROKER_URL
 * @param {(message: string) => void} [log] receives one line per step
 * @returns {Promise<BrokerAddress>}
 */
export async function ensureBroker(url = DEFAULT_BROKER_URL, log = () => {}) {
  const address = parseBrokerAddress(url);

  const probe = await probeBrokerWithReason(address);
  if (probe.up) {
    log(`broker responds at ${address.display}`);
    return address;
  }
  log(`no broker responds at ${address.display} (${probe.reason})`);

  if (!address.loopback) {
    throw new SetupError(
      `no AMQP broker responds at ${address.host} port ${address.port} (${probe.reason}). ` +
        'Start that broker, or set AMQP_URL to a broker that is reachable from here.',
    );
  }
  if (address.tls) {
    throw new SetupError(
      `no AMQP broker responds at ${address.display} (${probe.reason}). A RabbitMQ started by this ` +
        'script listens for plain AMQP only, so start a broker with a TLS listener on that port, ' +
        'or set AMQP_URL to an amqp:// URL.',
    );
  }

  await startLocalRabbitMQ(address, log);
  return address;
}

async function startLocalRabbitMQ(address, log) {
  let serverPath = findRabbitMQServer();

  if (serverPath === undefined) {
    if (!canInstallWithApt()) {
      throw new SetupError(
        `no AMQP broker responds at ${address.display} and RabbitMQ is not installed. ` +
          'Install it (on Debian or Ubuntu: sudo apt-get install rabbitmq-server), ' +
          'or set AMQP_URL to a running broker, for example amqp://user:password@host:5672.',
      );
    }

    // NOTE: this install path has not been run on a machine without RabbitMQ.
    await installDebianPackage('rabbitmq-server', log);
    serverPath = findRabbitMQServer();
    if (serverPath === undefined) {
      throw new SetupError(
        `rabbitmq-server is still not found in ${RABBITMQ_SERVER_PATH} or on PATH after installing it`,
      );
    }

    // Debian's package may already have started the service during the install.
    if (await probeBroker(address)) {
      log(`broker responds at ${address.display}`);
      return;
    }
  }

  await startRabbitMQServer(serverPath, address.port, log);
  await waitForBroker(address, log);
}

function findRabbitMQServer() {
  // /usr/sbin is often missing from the PATH of users other than root.
  if (isExecutableFile(RABBITMQ_SERVER_PATH)) return RABBITMQ_SERVER_PATH;
  return findExecutable('rabbitmq-server');
}

/**
 * Runs `rabbitmq-server -detached`, which returns once the node is forked. Its output goes to a
 * log file, not to this process's stdout, because the forked node could keep a pipe open for as
 * long as it runs.
 */
async function startRabbitMQServer(serverPath, port, log) {
  const outputPath = join(mkdtempSync(join(tmpdir(), 'warren-rabbitmq-')), 'rabbitmq-server.log');
  const outputFd = openSync(outputPath, 'w');

  // NOTE: this port override has only been run against a stand-in for rabbitmq-server.
  const env = { ...process.env };
  if (port !== RABBITMQ_DEFAULT_PORT) env.RABBITMQ_NODE_PORT = String(port);

  log(`starting RabbitMQ (${serverPath} -detached, output in ${outputPath})`);
  let code;
  try {
    code = await runCommand(serverPath, ['-detached'], { env, stdio: ['ignore', outputFd, outputFd] });
  } finally {
    closeSync(outputFd);
  }

  if (code !== 0) {
    throw new SetupError(
      `${serverPath} -detached failed with exit code ${code}. Its last output lines:\n` +
        readLastLines(outputPath, 20) +
        '\nIf RabbitMQ is installed as a system service, start it with: sudo service rabbitmq-server start',
    );
  }
}

async function waitForBroker(address, log) {
  log(`waiting up to ${START_TIMEOUT_MS / 1000} s for RabbitMQ to accept connections at ${address.display}`);
  const startedAt = Date.now();
  let lastReason = 'not probed yet';

  while (Date.now() - startedAt < START_TIMEOUT_MS) {
    const probe = await probeBrokerWithReason(address);
    if (probe.up) {
      log(`broker responds at ${address.display} after ${Math.round((Date.now() - startedAt) / 1000)} s`);
      return;
    }
    lastReason = probe.reason;
    await sleep(START_POLL_INTERVAL_MS);
  }

  throw new SetupError(
    `RabbitMQ did not respond at ${address.display} within ${START_TIMEOUT_MS / 1000} s ` +
      `(last probe: ${lastReason}). Check "rabbitmq-diagnostics status" and the logs in /var/log/rabbitmq/.`,
  );
}

function readLastLines(path, count) {
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  return lines.slice(-count).join('\n');
}
