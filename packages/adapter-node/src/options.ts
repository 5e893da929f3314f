import { ConnectionError } from '@warren/protocol';

/** Options of `connect()`. Every field is optional; a URL may set most of them too. */
export interface ConnectOptions {
  /** Broker URL such as `amqp://user:password@host:5672/vhost?heartbeat=30`. */
  url?: string;
  /** Host name or IP address. Default: `127.0.0.1`. */
  hostname?: string;
  /** TCP port. Default: 5672. */
  port?: number;
  /** Default: `guest`. */
  username?: string;
  /** Default: `guest`. */
  password?: string;
  /** Virtual host. Default: `/`. */
  vhost?: string;
  /** Heartbeat interval in seconds; 0 disables heartbeats. Default: the broker's value. */
  heartbeat?: number;
  /** Largest frame in bytes, at least 4096. Default: 131072, capped by the broker. */
  frameMax?: number;
  /** Highest channel number. Default: 2047, capped by the broker. */
  channelMax?: number;
  /** Maximum time in milliseconds to open the TCP connection and complete the AMQP handshake. Default: 30000. */
  connectionTimeout?: number;
  /** Name shown for the connection in the RabbitMQ management UI. */
  connectionName?: string;
  /** Bytes buffered in the socket above which `basicPublish` waits for it to drain. Default: 1 MiB. */
  writeHighWaterMark?: number;
  /** Largest message body accepted from the broker, in bytes. Default: 512 MiB. */
  maxMessageSize?: number;
}

/** Options after defaults and the URL have been applied. */
export interface ResolvedOptions {
  hostname: string;
  port: number;
  username: string;
  password: string;
  vhost: string;
  heartbeat: number | undefined;
  frameMax: number | undefined;
  channelMax: number | undefined;
  connectionTimeout: number;
  connectionName: string | undefined;
  writeHighWaterMark: number;
  maxMessageSize: number | undefined;
}

export const DEFAULT_URL = 'amqp://guest:guest@127.0.0.1:5672';

type QueryParser = (value: string, name: string) => Partial<ConnectOptions>;

const integer = (key: keyof ConnectOptions, scale = 1): QueryParser => (value, name) => {
  if (!/^\d+$/.test(value)) throw invalidUrl(`query parameter ${name} must be a non-negative integer; got "${value}"`);
  return { [key]: Number(value) * scale };
};

/** URL query parameters, after RabbitMQ's URI query parameter spec. */
const QUERY_PARAMETERS: Record<string, QueryParser> = {
  heartbeat: integer('heartbeat'),
  frame_max: integer('frameMax'),
  channel_max: integer('channelMax'),
  connection_timeout: integer('connectionTimeout'),
  connection_name: (value) => ({ connectionName: value }),
};

/**
 * Resolves `connect()`'s argument: a URL string, or options with an optional `url` whose values
 * the other options override. With neither, it connects to `amqp://guest:guest@127.0.0.1:5672`.
 *
 * @throws ConnectionError `INVALID_URL` naming the part of the URL that is invalid.
 */
export function resolveOptions(target: string | ConnectOptions | undefined): ResolvedOptions {
  const options: ConnectOptions = typeof target === 'string' ? { url: target } : { ...target };
  const fromUrl = parseUrl(options.url ?? (hasAddress(options) ? undefined : DEFAULT_URL));
  const merged: ConnectOptions = { ...fromUrl };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && key !== 'url') (merged as Record<string, unknown>)[key] = value;
  }

  return {
    hostname: merged.hostname ?? '127.0.0.1',
    port: merged.port ?? 5672,
    username: merged.username ?? 'guest',
    password: merged.password ?? 'guest',
    vhost: merged.vhost ?? '/',
    heartbeat: merged.heartbeat,
    frameMax: merged.frameMax,
    channelMax: merged.channelMax,
    connectionTimeout: merged.connectionTimeout ?? 30_000,
    connectionName: merged.connectionName,
    writeHighWaterMark: merged.writeHighWaterMark ?? 1024 * 1024,
    maxMessageSize: merged.maxMessageSize,
  };
}

function hasAddress(options: ConnectOptions): boolean {
  return options.hostname !== undefined || options.port !== undefined;
}

/**
 * Parses an AMQP URL after RabbitMQ's URI spec: user, password and vhost are percent-decoded,
 * a URL without a path means vhost `/`, `amqp://host/` means the empty vhost, and `%2F` is `/`.
 */
export function parseUrl(url: string | undefined): ConnectOptions {
  if (url === undefined) return {};

  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidUrl(`"${redact(url)}" is not a valid URL`);
  }
  if (parsed.protocol !== 'amqp:') {
    throw invalidUrl(`URL scheme "${parsed.protocol.slice(0, -1)}" is not supported; use amqp:`);
  }

  const options: ConnectOptions = {};
  if (parsed.hostname !== '') options.hostname = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (parsed.port !== '') options.port = Number(parsed.port);
  if (parsed.username !== '') options.username = decode(parsed.username, 'username');
  if (parsed.password !== '') options.password = decode(parsed.password, 'password');

  // WHATWG URL keeps the path percent-encoded, so a `%2F` in it stays distinguishable from `/`.
  const path = parsed.pathname;
  if (path !== '') {
    const vhost = path.slice(1);
    if (vhost.includes('/')) throw invalidUrl(`vhost "${vhost}" contains an unencoded "/"; write it as %2F`);
    options.vhost = decode(vhost, 'vhost');
  }

  for (const [name, value] of parsed.searchParams) {
    const parse = QUERY_PARAMETERS[name];
    if (parse === undefined) {
      throw invalidUrl(`unknown query parameter "${name}"; supported: ${Object.keys(QUERY_PARAMETERS).join(', ')}`);
    }
    Object.assign(options, parse(value, name));
  }
  return options;
}

function decode(value: string, part: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw invalidUrl(`the ${part} in the URL has an invalid percent-encoding`);
  }
}

/** Returns the URL with its password replaced, for use in messages. */
export function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

function invalidUrl(message: string): ConnectionError {
  return new ConnectionError(`invalid AMQP URL: ${message}`, { code: 'INVALID_URL', source: 'client' });
}
