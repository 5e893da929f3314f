import { type NetConnectOpts, type Socket, connect as netConnect } from 'node:net';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { ConnectionError, ConnectTimeoutError } from '@warren/protocol';
import { loadTls } from './builtins.js';
import type { ResolvedOptions } from './options.js';

/** The socket of one connection attempt, and the event after which AMQP bytes may flow. */
export interface Transport {
  socket: Socket;
  /** `connect` for TCP, `secureConnect` once the TLS handshake has completed. */
  readyEvent: 'connect' | 'secureConnect';
}

/**
 * Receives what the socket reads. `chunkReused` is true when `chunk` views the transport's read
 * buffer, which the next read overwrites.
 */
export type TransportReceiver = (chunk: Buffer, chunkReused: boolean) => void;

/**
 * Size of the buffer that a TCP connection reads into, which is the most that one read returns.
 * By default Node.js reads up to 64 KiB into a new buffer each time. One reused buffer allocates
 * nothing per read, and twice that size halves the reads of a large message.
 */
export const READ_BUFFER_SIZE = 128 * 1024;

/**
 * Opens a TCP connection, or a TLS connection when `options.tls` is set, to the endpoint, and
 * passes what it reads to `receive`. Nagle's algorithm is off, because the client writes whole
 * frames and then waits for replies.
 *
 * A TCP connection reads into one buffer of its own, which each read overwrites, so reading
 * allocates nothing. A TLS connection hands on the buffers that Node.js decrypts into.
 */
export function openTransport(options: ResolvedOptions, receive: TransportReceiver): Transport {
  const { hostname: host, port, tls } = options;
  if (tls === undefined) {
    const buffer = Buffer.allocUnsafe(READ_BUFFER_SIZE);
    const socket = netConnect({
      host,
      port,
      noDelay: true,
      writableHighWaterMark: options.writeHighWaterMark,
      onread: {
        buffer,
        // Returning false would pause the socket, but the engine accepts every byte it is given.
        callback: (size: number) => {
          receive(buffer.subarray(0, size), true);
          return true;
        },
      },
    } as NetConnectOpts);
    return { socket, readyEvent: 'connect' };
  }

  // A TLS socket takes its buffer limit from `highWaterMark`, for both directions, which the
  // Node 20 type declarations leave out.
  const tlsOptions: ConnectionOptions & { highWaterMark: number } = {
    host,
    port,
    highWaterMark: options.writeHighWaterMark,
    ...tls,
  };
  const tlsModule = loadTls();
  let socket: TLSSocket;
  try {
    socket = tlsModule.connect(tlsOptions);
  } catch (error) {
    // Node checks the key, certificate and CA material before it opens the socket.
    throw new ConnectionError(`invalid TLS options for ${host}:${port}: ${(error as Error).message}`, {
      code: 'TLS_OPTIONS_INVALID',
      source: 'client',
      cause: error,
    });
  }
  socket.once('connect', () => socket.setNoDelay(true));
  socket.on('data', (chunk: Buffer) => receive(chunk, false));
  return { socket, readyEvent: 'secureConnect' };
}

/** Returns the `CONNECT_FAILED` error for a TCP connection that could not be opened. */
export function connectFailedError(options: ResolvedOptions, cause: Error): ConnectionError {
  return new ConnectionError(`could not connect to ${options.hostname}:${options.port}: ${cause.message}`, {
    code: 'CONNECT_FAILED',
    source: 'network',
    retryable: true,
    cause,
  });
}

/** Returns the `CONNECT_TIMEOUT` error for a TCP connection not established within `socketTimeout`. */
export function socketTimeoutError(options: ResolvedOptions): ConnectionError {
  return new ConnectTimeoutError(`no TCP connection to ${options.hostname}:${options.port} within ${options.socketTimeout} ms`, {
    code: 'CONNECT_TIMEOUT',
    source: 'network',
    retryable: true,
  });
}

/** Returns the `CONNECT_TIMEOUT` error for an attempt that took longer than `connectionTimeout`. */
export function connectionTimeoutError(options: ResolvedOptions): ConnectionError {
  return new ConnectTimeoutError(`no AMQP connection to ${options.hostname}:${options.port} within ${options.connectionTimeout} ms`, {
    code: 'CONNECT_TIMEOUT',
    source: 'network',
    retryable: true,
  });
}

/**
 * Returns the `TLS_HANDSHAKE_FAILED` error for a TLS handshake that failed after the TCP
 * connection opened. A rejected certificate is not retryable, because the next attempt would
 * get the same certificate. Any other failure, such as a reset, is retryable.
 */
export function tlsHandshakeError(options: ResolvedOptions, cause: Error): ConnectionError {
  const certificateRejected = isCertificateError(cause);
  const hint = certificateRejected ? '; pass the CA that signed it in tls.ca, or the expected host name in tls.servername' : '';
  return new ConnectionError(`TLS handshake with ${options.hostname}:${options.port} failed: ${cause.message}${hint}`, {
    code: 'TLS_HANDSHAKE_FAILED',
    source: 'network',
    retryable: !certificateRejected,
    cause,
  });
}

/**
 * Codes of the errors that `node:tls` raises when it rejects the broker's certificate: OpenSSL's
 * X509 verification codes, as listed in the `node:tls` documentation of Node 20, and Node's own
 * code for a certificate of another host. They are one string, not a list of literals, because
 * they are not Warren's error codes, which scripts/error-codes.test.ts collects from literals.
 */
const CERTIFICATE_ERROR_CODES: ReadonlySet<string> = new Set(
  `UNABLE_TO_GET_ISSUER_CERT UNABLE_TO_GET_CRL UNABLE_TO_DECRYPT_CERT_SIGNATURE
  UNABLE_TO_DECRYPT_CRL_SIGNATURE UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY CERT_SIGNATURE_FAILURE
  CRL_SIGNATURE_FAILURE CERT_NOT_YET_VALID CERT_HAS_EXPIRED CRL_NOT_YET_VALID CRL_HAS_EXPIRED
  ERROR_IN_CERT_NOT_BEFORE_FIELD ERROR_IN_CERT_NOT_AFTER_FIELD ERROR_IN_CRL_LAST_UPDATE_FIELD
  ERROR_IN_CRL_NEXT_UPDATE_FIELD DEPTH_ZERO_SELF_SIGNED_CERT SELF_SIGNED_CERT_IN_CHAIN
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY UNABLE_TO_VERIFY_LEAF_SIGNATURE CERT_CHAIN_TOO_LONG
  CERT_REVOKED INVALID_CA PATH_LENGTH_EXCEEDED INVALID_PURPOSE CERT_UNTRUSTED CERT_REJECTED
  HOSTNAME_MISMATCH ERR_TLS_CERT_ALTNAME_INVALID`.split(/\s+/),
);

function isCertificateError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code !== undefined && CERTIFICATE_ERROR_CODES.has(code);
}
