import { isIP } from 'node:net';
import type { ConnectionOptions as NodeTlsOptions } from 'node:tls';
import type { InspectOptions, inspect } from 'node:util';
import {
  ConnectionError,
  type SaslMechanism,
  amqplainMechanism,
  externalMechanism,
  plainMechanism,
} from '@warren/protocol';
import { INSPECT_CUSTOM, loadFs } from './builtins.js';
import type { FrameTraceCallback } from './frame-trace.js';
import type { Logger } from './logger.js';
import { parseUrl } from './url.js';

export { parseUrl };

/** Names of the SASL mechanisms that Warren implements, as `auth_mechanism` in a URL selects them. */
export type SaslMechanismName = 'PLAIN' | 'AMQPLAIN' | 'EXTERNAL';

/**
 * TLS settings, passed to `node:tls`. Peer verification is on unless `rejectUnauthorized` is
 * false. A `...File` option names a file that is read when connecting, and may not be combined
 * with the value option of the same name.
 */
export interface TlsOptions {
  /** Trusted CA certificates, in PEM. They replace Node's bundled root certificates. */
  ca?: NodeTlsOptions['ca'];
  /** Path of a PEM file of trusted CA certificates, which the URL parameter `cacertfile` sets. */
  caFile?: string;
  /** Client certificate chain in PEM, for brokers that authenticate clients by certificate. */
  cert?: NodeTlsOptions['cert'];
  /** Path of the client certificate file, which the URL parameter `certfile` sets. */
  certFile?: string;
  /** Private key of the client certificate, in PEM. */
  key?: NodeTlsOptions['key'];
  /** Path of the private key file, which the URL parameter `keyfile` sets. */
  keyFile?: string;
  /** Client certificate and key in one PKCS#12 bundle, in place of `cert` and `key`. */
  pfx?: NodeTlsOptions['pfx'];
  /** Passphrase of `key` or `pfx`. */
  passphrase?: string;
  /**
   * Host name sent in SNI and checked against the broker's certificate. Default: the host name
   * of the endpoint, or none when it is an IP address, which SNI does not allow. `false` sends
   * no SNI, and the certificate is then checked against the endpoint's host.
   */
  servername?: string | false;
  /** Whether to reject a broker certificate that the CAs do not sign or that names another host. Default: true. */
  rejectUnauthorized?: boolean;
}

/** One broker address of `endpoints`: an AMQP URL, or a host with an optional port and TLS setting. */
export type Endpoint = string | EndpointOptions;

/** A broker address given as values. The shared options supply everything else. */
export interface EndpointOptions {
  hostname: string;
  /** Default: 5672, or 5671 with TLS. */
  port?: number;
  /** TLS for this endpoint. An object is merged over the shared `tls` object. */
  tls?: boolean | TlsOptions;
}

/**
 * Options of `connect()`. Every field is optional.
 *
 * Values come in three layers: a URL (`url`, or a URL in `endpoints`) sets defaults, the other
 * options override it, and an `EndpointOptions` object overrides those for its endpoint.
 * `tls` objects merge field by field across the layers, and `tls: false` turns TLS off.
 */
export interface ConnectOptions {
  /** Broker URL such as `amqps://user:password@host:5671/vhost?heartbeat=30`, as `parseUrl` reads it. */
  url?: string;
  /**
   * Brokers to try in order until one accepts the connection, such as the nodes of a cluster.
   * It replaces `url`, `hostname` and `port`, which may then not be set.
   */
  endpoints?: readonly Endpoint[];
  /** Host name or IP address. Default: `127.0.0.1`. */
  hostname?: string;
  /** TCP port. Default: 5672, or 5671 with TLS. */
  port?: number;
  /** Default: `guest`. */
  username?: string;
  /** Default: `guest`. */
  password?: string;
  /** Virtual host. Default: `/`. */
  vhost?: string;
  /** TLS: `true` with Node's defaults, or settings. An `amqps:` URL turns it on too. Default: off. */
  tls?: boolean | TlsOptions;
  /**
   * SASL mechanism: a name, which uses `username` and `password` unless it is `EXTERNAL`, or an
   * object that implements another mechanism. Default: `PLAIN`.
   */
  mechanism?: SaslMechanism | SaslMechanismName;
  /** Heartbeat interval in seconds; 0 disables heartbeats. Default: the broker's value. */
  heartbeat?: number;
  /** Largest frame in bytes, at least 4096. Default: 131072, capped by the broker. */
  frameMax?: number;
  /** Highest channel number. Default: 2047, capped by the broker. */
  channelMax?: number;
  /** Rounds over all endpoints before `connect()` gives up. Default: 1. */
  connectionAttempts?: number;
  /** Pause in milliseconds between two rounds over the endpoints. Default: 2000. */
  retryDelay?: number;
  /** Maximum time in milliseconds to establish the TCP connection to one endpoint. Default: 10000. */
  socketTimeout?: number;
  /**
   * Maximum time in milliseconds for one attempt to open the TCP connection, complete TLS and
   * complete the AMQP handshake. Default: 30000.
   */
  connectionTimeout?: number;
  /** Name shown for the connection in the RabbitMQ management UI. */
  connectionName?: string;
  /** Bytes buffered in the socket above which `basicPublish` waits for it to drain. Default: 1 MiB. */
  writeHighWaterMark?: number;
  /** Largest message body accepted from the broker, in bytes. Default: 512 MiB. */
  maxMessageSize?: number;
  /**
   * Maximum time in milliseconds that the broker may block publishing (`connection.blocked`,
   * for example on a memory alarm) before the connection closes with `BLOCKED_TIMEOUT`, like
   * Pika's `blocked_connection_timeout`. Default: no limit.
   */
  blockedConnectionTimeout?: number;
  /** Maximum time in milliseconds that `close()` waits for the broker's `close-ok`. Default: 10000. */
  closeTimeout?: number;
  /** Receiver of connection events, at the levels that `Logger` lists. Default: nothing is logged. */
  logger?: Logger;
  /**
   * Describes each frame sent and received: a callback, or `true` to send each line to
   * `logger.debug` as `out ch1 basic.publish exchange="" routingKey="q" ...`. Default: off.
   */
  frameTrace?: true | FrameTraceCallback;
}

/** TLS settings after files are read, in the form `tls.connect()` takes. */
export interface ResolvedTlsOptions {
  ca?: NodeTlsOptions['ca'];
  cert?: NodeTlsOptions['cert'];
  key?: NodeTlsOptions['key'];
  pfx?: NodeTlsOptions['pfx'];
  passphrase?: string;
  /** SNI host name, or undefined to send none. */
  servername: string | undefined;
  rejectUnauthorized: boolean;
}

/** Settings of one connection attempt to one endpoint, after defaults and the URL have been applied. */
export interface ResolvedOptions {
  /** The endpoint as a URL without the password, for messages and logs. */
  endpoint: string;
  hostname: string;
  port: number;
  username: string;
  password: string;
  vhost: string;
  tls: ResolvedTlsOptions | undefined;
  mechanism: SaslMechanism;
  heartbeat: number | undefined;
  frameMax: number | undefined;
  channelMax: number | undefined;
  socketTimeout: number;
  connectionTimeout: number;
  connectionName: string | undefined;
  writeHighWaterMark: number;
  maxMessageSize: number | undefined;
  blockedConnectionTimeout: number | undefined;
  closeTimeout: number | undefined;
  logger: Logger | undefined;
  frameTrace: FrameTraceCallback | undefined;
}

/** Plan of `connect()`: the endpoints in order, the number of rounds, and the pause between rounds. */
export interface ConnectPlan {
  endpoints: ResolvedOptions[];
  connectionAttempts: number;
  retryDelay: number;
  logger: Logger | undefined;
}

const DEFAULT_HOSTNAME = '127.0.0.1';
const DEFAULT_PORT = 5672;
const DEFAULT_TLS_PORT = 5671;
const DEFAULT_CONNECTION_ATTEMPTS = 1;
const DEFAULT_RETRY_DELAY = 2000;
const DEFAULT_SOCKET_TIMEOUT = 10_000;
const DEFAULT_CONNECTION_TIMEOUT = 30_000;
const DEFAULT_WRITE_HIGH_WATER_MARK = 1024 * 1024;
/** Maximum delay of `setTimeout`, which fires at once when given a longer one. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** Options that only name an address, which `endpoints` replaces. */
const ADDRESS_OPTIONS = ['url', 'hostname', 'port'] as const;

/** Text that replaces a secret when options are inspected or serialized. */
const HIDDEN = '<hidden>';

/**
 * Resolves `connect()`'s argument: a URL, a list of endpoints, or options. With no address at
 * all, it connects to `amqp://guest:guest@127.0.0.1:5672`.
 *
 * @throws ConnectionError `INVALID_URL` naming the invalid part of a URL, `INVALID_OPTION`
 *   naming an invalid option, or `TLS_FILE_UNREADABLE` naming a TLS file that cannot be read.
 */
export function resolveOptions(target: string | readonly Endpoint[] | ConnectOptions | undefined): ConnectPlan {
  let options: ConnectOptions;
  if (typeof target === 'string') options = { url: target };
  else if (isEndpointList(target)) options = { endpoints: target };
  else options = { ...target };

  let endpoints: readonly Endpoint[];
  if (options.endpoints !== undefined) {
    const address = ADDRESS_OPTIONS.find((name) => options[name] !== undefined);
    if (address !== undefined) throw invalidOption(`option ${address} cannot be combined with endpoints; set the address in each endpoint`);
    if (!Array.isArray(options.endpoints) || options.endpoints.length === 0) throw invalidOption('option endpoints must be a non-empty array');
    endpoints = options.endpoints;
  } else {
    endpoints = [options.url ?? { hostname: options.hostname ?? DEFAULT_HOSTNAME }];
  }

  const connectionAttempts = checkInteger('connectionAttempts', options.connectionAttempts ?? DEFAULT_CONNECTION_ATTEMPTS, 1, Number.MAX_SAFE_INTEGER);
  const retryDelay = checkInteger('retryDelay', options.retryDelay ?? DEFAULT_RETRY_DELAY, 0, MAX_TIMER_DELAY);
  return {
    endpoints: endpoints.map((endpoint) => resolveEndpoint(endpoint, options)),
    connectionAttempts,
    retryDelay,
    logger: options.logger,
  };
}

function isEndpointList(target: unknown): target is readonly Endpoint[] {
  return Array.isArray(target);
}

/** Merges the layers for one endpoint: its URL, then the shared options, then its own values. */
function resolveEndpoint(endpoint: Endpoint, shared: ConnectOptions): ResolvedOptions {
  let fromUrl: ConnectOptions;
  let own: ConnectOptions;
  if (typeof endpoint === 'string') {
    fromUrl = parseUrl(endpoint);
    own = {};
  } else if (endpoint !== null && typeof endpoint === 'object' && typeof endpoint.hostname === 'string') {
    fromUrl = {};
    own = { hostname: endpoint.hostname, port: endpoint.port, tls: endpoint.tls };
  } else {
    throw invalidOption('each endpoint must be a URL string or an object with a hostname');
  }

  const merged: ConnectOptions = { ...fromUrl };
  for (const layer of [shared, own]) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined || key === 'url' || key === 'endpoints' || key === 'tls') continue;
      (merged as Record<string, unknown>)[key] = value;
    }
  }
  const tls = mergeTls(mergeTls(fromUrl.tls, shared.tls), own.tls);

  const hostname = merged.hostname ?? DEFAULT_HOSTNAME;
  const username = merged.username ?? 'guest';
  const password = merged.password ?? 'guest';
  const vhost = merged.vhost ?? '/';
  const port = checkInteger('port', merged.port ?? (tls === undefined ? DEFAULT_PORT : DEFAULT_TLS_PORT), 1, 65535);
  const logger = merged.logger;

  const resolved: ResolvedOptions = {
    endpoint: describeEndpoint(tls !== undefined, username, hostname, port, vhost),
    hostname,
    port,
    username,
    password,
    vhost,
    tls: tls === undefined ? undefined : resolveTls(tls, hostname),
    mechanism: resolveMechanism(merged.mechanism, username, password),
    heartbeat: merged.heartbeat,
    frameMax: merged.frameMax,
    channelMax: merged.channelMax,
    socketTimeout: checkInteger('socketTimeout', merged.socketTimeout ?? DEFAULT_SOCKET_TIMEOUT, 1, MAX_TIMER_DELAY),
    connectionTimeout: checkInteger('connectionTimeout', merged.connectionTimeout ?? DEFAULT_CONNECTION_TIMEOUT, 1, MAX_TIMER_DELAY),
    connectionName: merged.connectionName,
    writeHighWaterMark: checkInteger('writeHighWaterMark', merged.writeHighWaterMark ?? DEFAULT_WRITE_HIGH_WATER_MARK, 0, 2 ** 32),
    maxMessageSize: merged.maxMessageSize,
    blockedConnectionTimeout: merged.blockedConnectionTimeout,
    closeTimeout: merged.closeTimeout,
    logger,
    frameTrace: resolveFrameTrace(merged.frameTrace, logger),
  };
  hideSecretsFromInspection(resolved);
  return resolved;
}

/** Merges a higher `tls` layer over a lower one. The result is undefined when TLS is off. */
function mergeTls(lower: boolean | TlsOptions | undefined, higher: boolean | TlsOptions | undefined): TlsOptions | undefined {
  let base: TlsOptions | undefined;
  if (lower === true) base = {};
  else if (lower !== undefined && lower !== false) base = lower;

  if (higher === undefined) return base;
  if (higher === false) return undefined;
  if (higher === true) return base ?? {};
  return { ...base, ...higher };
}

function resolveTls(tls: TlsOptions, hostname: string): ResolvedTlsOptions {
  let servername: string | undefined;
  if (tls.servername === undefined) servername = isIP(hostname) === 0 ? hostname : undefined;
  else if (tls.servername !== false) servername = tls.servername;

  const resolved: ResolvedTlsOptions = {
    servername,
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
  };
  const ca = fileOrValue(tls.ca, tls.caFile, 'ca', 'CA certificate');
  const cert = fileOrValue(tls.cert, tls.certFile, 'cert', 'client certificate');
  const key = fileOrValue(tls.key, tls.keyFile, 'key', 'private key');
  if (ca !== undefined) resolved.ca = ca;
  if (cert !== undefined) resolved.cert = cert;
  if (key !== undefined) resolved.key = key;
  if (tls.pfx !== undefined) resolved.pfx = tls.pfx;
  if (tls.passphrase !== undefined) resolved.passphrase = tls.passphrase;
  return resolved;
}

/** Returns the value of a TLS option, or the contents of the file that its `...File` option names. */
function fileOrValue<T>(value: T | undefined, path: string | undefined, name: string, description: string): T | Buffer | undefined {
  if (path === undefined) return value;
  if (value !== undefined) throw invalidOption(`options tls.${name} and tls.${name}File are both set; set one`);

  try {
    return loadFs().readFileSync(path);
  } catch (cause) {
    throw new ConnectionError(`could not read the ${description} file ${JSON.stringify(path)} (tls.${name}File): ${(cause as Error).message}`, {
      code: 'TLS_FILE_UNREADABLE',
      source: 'client',
      cause,
    });
  }
}

function resolveMechanism(mechanism: SaslMechanism | SaslMechanismName | undefined, username: string, password: string): SaslMechanism {
  switch (mechanism) {
    case undefined:
    case 'PLAIN':
      return plainMechanism(username, password);
    case 'AMQPLAIN':
      return amqplainMechanism(username, password);
    case 'EXTERNAL':
      return externalMechanism();
  }
  if (typeof mechanism !== 'object' || mechanism === null || typeof mechanism.name !== 'string' || typeof mechanism.initialResponse !== 'function') {
    throw invalidOption('option mechanism must be PLAIN, AMQPLAIN, EXTERNAL or an object with a name and an initialResponse() method');
  }
  return mechanism;
}

function resolveFrameTrace(frameTrace: true | FrameTraceCallback | undefined, logger: Logger | undefined): FrameTraceCallback | undefined {
  if (frameTrace === undefined) return undefined;
  if (typeof frameTrace === 'function') return frameTrace;
  if (frameTrace !== true) throw invalidOption('option frameTrace must be true or a function');

  // Bind once here, so a connection without logger.debug pays nothing per frame.
  const debug = logger?.debug?.bind(logger);
  if (debug === undefined) return undefined;
  return (direction, channel, description) => debug(`${direction} ch${channel} ${description}`);
}

/** Describes an endpoint as a URL without the password, such as `amqps://guest@host:5671/%2F`. */
export function describeEndpoint(secure: boolean, username: string, hostname: string, port: number, vhost: string): string {
  const host = hostname.includes(':') ? `[${hostname}]` : hostname;
  return `${secure ? 'amqps' : 'amqp'}://${encodeURIComponent(username)}@${host}:${port}/${encodeURIComponent(vhost)}`;
}

/**
 * Makes `util.inspect`, `console.log` and `JSON.stringify` show `<hidden>` in place of the
 * password and the TLS key material. The properties themselves stay readable.
 */
function hideSecretsFromInspection(options: ResolvedOptions): void {
  const visible = (): object => ({
    ...options,
    password: HIDDEN,
    tls: options.tls && {
      ...options.tls,
      ...(options.tls.key !== undefined && { key: HIDDEN }),
      ...(options.tls.pfx !== undefined && { pfx: HIDDEN }),
      ...(options.tls.passphrase !== undefined && { passphrase: HIDDEN }),
    },
    mechanism: options.mechanism.name,
  });
  Object.defineProperties(options, {
    [INSPECT_CUSTOM]: { value: (_depth: number, inspectOptions: InspectOptions, inspectValue: typeof inspect) => inspectValue(visible(), inspectOptions) },
    toJSON: { value: visible },
  });
}

function checkInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(`option ${name} must be an integer from ${min} to ${max}; got ${String(value)}`);
  }
  return value;
}

function invalidOption(message: string): ConnectionError {
  return new ConnectionError(message, { code: 'INVALID_OPTION', source: 'client' });
}
