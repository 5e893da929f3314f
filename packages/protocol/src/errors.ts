/**
 * Error classes shared by every Warren package.
 *
 * Each error carries a stable string `code` to branch on, the party that raised it, and
 * whether a recovery layer may retry the failed operation. Errors that report an AMQP close
 * also carry the broker's reply code and text and the method that caused them.
 */

/** The party whose action caused the error. */
export type ErrorSource = 'client' | 'broker' | 'network';

export interface AmqpErrorOptions {
  code: string;
  source: ErrorSource;
  retryable?: boolean;
  replyCode?: number;
  replyText?: string;
  classId?: number;
  methodId?: number;
  cause?: unknown;
}

// A registered symbol marks Warren errors, so `isInstance` works even when two copies of
// this package are installed and `instanceof` would fail across them.
const marker = Symbol.for('warren.error');

/** Base class of every error that Warren raises on purpose. */
export class AmqpError extends Error {
  /** Stable identifier of the failure, such as `FRAME_TOO_LARGE`. */
  readonly code: string;
  /** Party that caused the failure: this client, the broker, or the network between them. */
  readonly source: ErrorSource;
  /** Whether retrying the same operation on a new connection may succeed. */
  readonly retryable: boolean;
  /** AMQP reply code when the error comes from or leads to a `close` method. */
  readonly replyCode: number | undefined;
  /** AMQP reply text that accompanies `replyCode`. */
  readonly replyText: string | undefined;
  /** Class id of the method that failed, when the broker names one. */
  readonly classId: number | undefined;
  /** Method id of the method that failed, when the broker names one. */
  readonly methodId: number | undefined;

  constructor(message: string, options: AmqpErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.source = options.source;
    this.retryable = options.retryable ?? false;
    this.replyCode = options.replyCode;
    this.replyText = options.replyText;
    this.classId = options.classId;
    this.methodId = options.methodId;
  }

  /** Checks for a Warren error, including one created by another installed copy of Warren. */
  static isInstance(value: unknown): value is AmqpError {
    return typeof value === 'object' && value !== null && marker in value;
  }
}
Object.defineProperty(AmqpError.prototype, marker, { value: true });

/** The connection failed or was closed; every channel on it is gone too. */
export class ConnectionError extends AmqpError {}

/** A channel failed or was closed; the connection and its other channels keep working. */
export class ChannelError extends AmqpError {}

/**
 * The peer sent bytes that do not form valid AMQP frames. The connection cannot continue,
 * because the frame boundaries are lost.
 */
export class FrameError extends ConnectionError {
  constructor(message: string, code: string, replyCode: number, cause?: unknown) {
    super(message, { code, source: 'broker', replyCode, cause });
  }
}

/**
 * A value passed by the caller cannot be encoded, such as a short string over 255 bytes.
 * Nothing was sent, and the connection is unaffected.
 */
export class InvalidArgumentError extends AmqpError {
  constructor(message: string, code: string) {
    super(message, { code, source: 'client' });
  }
}

/** The broker closed the connection with `connection.close`; `replyCode` gives the reason. */
export class ConnectionClosedByBrokerError extends ConnectionError {}

/** The client closed the connection; requests still pending when it closed reject with this. */
export class ConnectionClosedByClientError extends ConnectionError {}

/** The broker refused the credentials, or most likely did when it hung up during authentication. */
export class AuthenticationError extends ConnectionError {}

/** The broker refused access to the virtual host, or most likely did when it hung up while opening it. */
export class AccessRefusedError extends ConnectionError {}

/** No frame arrived from the broker for two heartbeat intervals. */
export class HeartbeatTimeoutError extends ConnectionError {}

/** The TCP connection or the AMQP handshake did not complete in time. */
export class ConnectTimeoutError extends ConnectionError {}

/** The broker closed the channel with `channel.close`, for example 404 for a missing queue. */
export class ChannelClosedByBrokerError extends ChannelError {}

/** The client closed the channel; requests still pending when it closed reject with this. */
export class ChannelClosedByClientError extends ChannelError {}

/** The broker returned a `mandatory` message that no queue received (`basic.return`). */
export class UnroutableError extends ChannelError {
  /** The returned message, as the broker sent it back. */
  readonly returned: unknown;

  constructor(message: string, options: AmqpErrorOptions & { returned: unknown }) {
    super(message, options);
    this.returned = options.returned;
  }
}

/** The broker rejected a message published in confirm mode (`basic.nack`). */
export class NackError extends ChannelError {}
