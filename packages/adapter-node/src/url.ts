import { ConnectionError } from '@warren/protocol';
import type { ConnectOptions, SaslMechanismName, TlsOptions } from './options.js';

/**
 * The parts of `scheme://authority/vhost?query#fragment`, split the way RFC 3986 appendix B
 * does. The authority ends at the first `/`, `?` or `#`.
 */
const URL_PARTS = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?(#.*)?$/;

const MECHANISM_NAMES: readonly SaslMechanismName[] = ['PLAIN', 'AMQPLAIN', 'EXTERNAL'];

type QueryParser = (value: string, name: string, options: ConnectOptions, tls: TlsOptions | undefined) => void;

/** Query parameters that apply to every URL, after RabbitMQ's URI query parameter spec. */
const QUERY_PARAMETERS: Record<string, QueryParser> = {
  heartbeat: (value, name, options) => {
    options.heartbeat = parseInteger(value, name);
  },
  frame_max: (value, name, options) => {
    options.frameMax = parseInteger(value, name);
  },
  channel_max: (value, name, options) => {
    options.channelMax = parseInteger(value, name);
  },
  connection_timeout: (value, name, options) => {
    options.connectionTimeout = parseInteger(value, name);
  },
  connection_name: (value, _name, options) => {
    options.connectionName = value;
  },
  auth_mechanism: (value, name, options) => {
    const mechanism = value.toUpperCase() as SaslMechanismName;
    if (!MECHANISM_NAMES.includes(mechanism)) {
      throw invalidUrl(`query parameter ${name} must be plain, amqplain or external; got "${value}"`);
    }
    options.mechanism = mechanism;
  },
};

/** Query parameters that configure TLS, so they are valid only in `amqps:` URLs. */
const TLS_QUERY_PARAMETERS: Record<string, QueryParser> = {
  cacertfile: (value, name, _options, tls) => {
    tls!.caFile = parsePath(value, name);
  },
  certfile: (value, name, _options, tls) => {
    tls!.certFile = parsePath(value, name);
  },
  keyfile: (value, name, _options, tls) => {
    tls!.keyFile = parsePath(value, name);
  },
  verify: (value, name, _options, tls) => {
    if (value !== 'verify_peer' && value !== 'verify_none') {
      throw invalidUrl(`query parameter ${name} must be verify_peer or verify_none; got "${value}"`);
    }
    tls!.rejectUnauthorized = value === 'verify_peer';
  },
  server_name_indication: (value, name, _options, tls) => {
    if (value === '') throw invalidUrl(`query parameter ${name} must be a host name or "disable"; got ""`);
    tls!.servername = value === 'disable' ? false : value;
  },
};

/**
 * Parses an AMQP URL after RabbitMQ's URI spec, `amqp[s]://[user[:password]@]host[:port][/vhost][?query]`:
 *
 * - The scheme is `amqp`, or `amqps` for TLS, in any letter case. The URL sets no port for a
 *   missing or empty one, so the default of the scheme applies: 5672, or 5671 for `amqps`.
 * - User, password, host and vhost are percent-decoded, so `%2F` in the vhost is `/`.
 * - Without a path the URL sets no vhost (the default is `/`), and `amqp://host/` sets the
 *   empty vhost. A vhost with an unencoded `/` is invalid.
 * - `amqp://:@host` sets an empty user and password, and `amqp://host` sets neither.
 * - An IPv6 address is written in brackets: `amqp://[::1]:5672`.
 * - Query parameters: `heartbeat`, `frame_max`, `channel_max`, `connection_timeout` (ms),
 *   `connection_name`, and `auth_mechanism` (`plain`, `amqplain` or `external`).
 * - TLS query parameters, only in `amqps:` URLs: `cacertfile`, `certfile` and `keyfile` (file
 *   paths, read when connecting), `verify` (`verify_peer` or `verify_none`), and
 *   `server_name_indication` (a host name, or `disable`).
 * - An unknown or repeated parameter is an error. RabbitMQ's Erlang client accepts a repeated
 *   `auth_mechanism` as a list of choices, but Warren sends exactly one mechanism.
 *
 * Leading and trailing whitespace is ignored, as WHATWG URL parsing does. In query values a
 * `+` is a space, as in HTML forms, so write a literal `+` as `%2B`.
 *
 * @returns only the values that the URL sets. An `amqps:` URL sets `tls`, to an empty object
 *   when it has no TLS parameter.
 * A password with an unencoded `/`, `?` or `#` ends the authority early, and its rest would be
 * read as the port, vhost or query. So an `@` in the vhost or query of a URL without user
 * information is an error, and a literal `@` there must be written `%40`.
 *
 * @throws ConnectionError `INVALID_URL` naming the invalid part or query parameter. The message
 *   never shows the user information, the port, or an authority cut short by such a password.
 */
export function parseUrl(url: string): ConnectOptions {
  const parts = URL_PARTS.exec(url.trim());
  if (parts === null) {
    throw invalidUrl('expected amqp://[user[:password]@]host[:port][/vhost][?query], with special characters percent-encoded');
  }
  const [, scheme, authority, path, query, fragment] = parts as unknown as [string, string, string, string | undefined, string | undefined, string | undefined];

  const secure = parseScheme(scheme);
  if (fragment !== undefined) {
    throw invalidUrl('a URL fragment (#) is not supported; write a # in the user name or password as %23');
  }
  if (!authority.includes('@') && `${path ?? ''}${query ?? ''}`.includes('@')) {
    throw invalidUrl('an "@" follows the host; percent-encode "/", "?" and "#" in the user name and password, and "@" in the vhost and query');
  }

  const options: ConnectOptions = parseAuthority(authority);
  if (path !== undefined) options.vhost = parseVhost(path);

  const tls: TlsOptions | undefined = secure ? {} : undefined;
  if (query !== undefined) parseQuery(query, options, tls);
  if (tls !== undefined) options.tls = tls;
  return options;
}

function parseScheme(scheme: string): boolean {
  const lowerCase = scheme.toLowerCase();
  if (lowerCase === 'amqp') return false;
  if (lowerCase === 'amqps') return true;
  throw invalidUrl(`URL scheme "${lowerCase}" is not supported; use amqp: or amqps:`);
}

/** Parses `[user[:password]@]host[:port]`, where the last `@` ends the user information. */
function parseAuthority(authority: string): ConnectOptions {
  const options: ConnectOptions = {};
  const at = authority.lastIndexOf('@');
  if (at !== -1) {
    const userInfo = authority.slice(0, at);
    const colon = userInfo.indexOf(':');
    options.username = decode(colon === -1 ? userInfo : userInfo.slice(0, colon), 'user name');
    if (colon !== -1) options.password = decode(userInfo.slice(colon + 1), 'password');
  }

  const hostAndPort = authority.slice(at + 1);
  let host: string;
  let port: string | undefined;
  if (hostAndPort.startsWith('[')) {
    const close = hostAndPort.indexOf(']');
    if (close === -1) throw invalidUrl('the IPv6 address in the URL has no closing "]"');
    host = hostAndPort.slice(1, close);
    const rest = hostAndPort.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) throw invalidUrl('the IPv6 address in the URL must be followed by ":port" or nothing');
    port = rest === '' ? undefined : rest.slice(1);
  } else {
    const colon = hostAndPort.indexOf(':');
    host = colon === -1 ? hostAndPort : hostAndPort.slice(0, colon);
    port = colon === -1 ? undefined : hostAndPort.slice(colon + 1);
  }

  if (host !== '') options.hostname = decode(host, 'host');
  if (port !== undefined && port !== '') options.port = parsePort(port);
  return options;
}

function parsePort(port: string): number {
  const value = /^\d{1,5}$/.test(port) ? Number(port) : NaN;
  if (!(value >= 1 && value <= 65535)) {
    throw invalidUrl('the port in the URL must be a number from 1 to 65535; percent-encode any ":" "/" "?" "#" "@" in the password');
  }
  return value;
}

function parseVhost(path: string): string {
  const vhost = path.slice(1);
  if (vhost.includes('/')) throw invalidUrl('the vhost in the URL contains an unencoded "/"; write it as %2F');
  return decode(vhost, 'vhost');
}

function parseQuery(query: string, options: ConnectOptions, tls: TlsOptions | undefined): void {
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(query)) {
    if (seen.has(name)) throw invalidUrl(`query parameter ${name} appears more than once`);
    seen.add(name);

    const parse = QUERY_PARAMETERS[name];
    if (parse !== undefined) {
      parse(value, name, options, tls);
      continue;
    }
    const parseTls = TLS_QUERY_PARAMETERS[name];
    if (parseTls === undefined) {
      const supported = [...Object.keys(QUERY_PARAMETERS), ...Object.keys(TLS_QUERY_PARAMETERS)].join(', ');
      throw invalidUrl(`unknown query parameter "${name}"; supported: ${supported}`);
    }
    if (tls === undefined) throw invalidUrl(`query parameter ${name} configures TLS, so it needs an amqps: URL`);
    parseTls(value, name, options, tls);
  }
}

function parseInteger(value: string, name: string): number {
  if (!/^\d+$/.test(value)) throw invalidUrl(`query parameter ${name} must be a non-negative integer; got "${value}"`);
  return Number(value);
}

function parsePath(value: string, name: string): string {
  if (value === '') throw invalidUrl(`query parameter ${name} must be a file path; got ""`);
  return value;
}

function decode(value: string, part: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw invalidUrl(`the ${part} in the URL has an invalid percent-encoding`);
  }
}

function invalidUrl(message: string): ConnectionError {
  return new ConnectionError(`invalid AMQP URL: ${message}`, { code: 'INVALID_URL', source: 'client' });
}
