import {
  AccessRefusedError,
  AmqpError,
  AuthenticationError,
  ChannelClosedByBrokerError,
  ChannelClosedByClientError,
  ChannelError,
  ConnectionClosedByBrokerError,
  ConnectionClosedByClientError,
  ConnectionError,
  ConnectTimeoutError,
  type ErrorSource,
  FrameError,
  HeartbeatTimeoutError,
  InvalidArgumentError,
  NackError,
  UnroutableError,
} from './errors.js';

/**
 * A plain-data form of an error that survives `postMessage`. Structured cloning turns every
 * error subclass into a plain `Error` and drops fields such as `code`. A record keeps them, so
 * `errorFromRecord` on another thread rebuilds an instance of the same class.
 */
export interface ErrorRecord {
  /** Class name, such as `ChannelClosedByBrokerError`; `Error` for a foreign error. */
  name: string;
  message: string;
  stack?: string | undefined;
  code?: string;
  source?: ErrorSource;
  retryable?: boolean;
  replyCode?: number | undefined;
  replyText?: string | undefined;
  classId?: number | undefined;
  methodId?: number | undefined;
  /** The returned message of an `UnroutableError`, when it can be cloned. */
  returned?: unknown;
  cause?: ErrorRecord;
}

type AmqpErrorClass = new (message: string, options: ConstructorParameters<typeof AmqpError>[1]) => AmqpError;

const classes: Record<string, AmqpErrorClass> = {
  AmqpError,
  ConnectionError,
  ChannelError,
  ConnectionClosedByBrokerError,
  ConnectionClosedByClientError,
  AuthenticationError,
  AccessRefusedError,
  HeartbeatTimeoutError,
  ConnectTimeoutError,
  ChannelClosedByBrokerError,
  ChannelClosedByClientError,
  NackError,
};

// Nested causes past this depth are dropped, so a cyclic cause chain cannot loop.
const MAX_CAUSE_DEPTH = 4;

/** Converts any thrown value into an `ErrorRecord`. */
export function errorToRecord(error: unknown, depth = 0): ErrorRecord {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };

  const record: ErrorRecord = { name: error.name, message: error.message, stack: error.stack };
  if (AmqpError.isInstance(error)) {
    record.code = error.code;
    record.source = error.source;
    record.retryable = error.retryable;
    record.replyCode = error.replyCode;
    record.replyText = error.replyText;
    record.classId = error.classId;
    record.methodId = error.methodId;
    if (error instanceof UnroutableError) record.returned = error.returned;
  } else {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') record.code = code;
  }
  if (error.cause !== undefined && depth < MAX_CAUSE_DEPTH) record.cause = errorToRecord(error.cause, depth + 1);
  return record;
}

/**
 * Rebuilds an error from its record. A Warren error becomes an instance of the same class, with
 * the same code, reply code and source. Any other error becomes an `Error` with its name,
 * message and code.
 */
export function errorFromRecord(record: ErrorRecord): Error {
  const cause = record.cause === undefined ? undefined : errorFromRecord(record.cause);
  const error = buildError(record, cause);
  if (record.stack !== undefined) error.stack = record.stack;
  return error;
}

function buildError(record: ErrorRecord, cause: Error | undefined): Error {
  if (record.code !== undefined && record.source !== undefined) {
    const options = {
      code: record.code,
      source: record.source,
      retryable: record.retryable,
      replyCode: record.replyCode,
      replyText: record.replyText,
      classId: record.classId,
      methodId: record.methodId,
      cause,
    };
    switch (record.name) {
      case 'FrameError':
        return new FrameError(record.message, record.code, record.replyCode ?? 0, cause);
      case 'InvalidArgumentError':
        return new InvalidArgumentError(record.message, record.code);
      case 'UnroutableError':
        return new UnroutableError(record.message, { ...options, returned: record.returned });
    }
    const ErrorClass = classes[record.name];
    if (ErrorClass !== undefined) return new ErrorClass(record.message, options);
  }

  const error = new Error(record.message, cause === undefined ? undefined : { cause });
  error.name = record.name;
  if (record.code !== undefined) Object.assign(error, { code: record.code });
  return error;
}
