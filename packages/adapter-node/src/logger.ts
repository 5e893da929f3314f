/**
 * Receives what a connection logs. Every method is optional, and `console` fits. Warren logs
 * nothing without one, and never a password: fields name an endpoint as a URL without it.
 *
 * - `debug`: each connection attempt, each pause before a new round, and each frame with
 *   `frameTrace: true`.
 * - `info`: a connection opened, closed on request, or unblocked by the broker.
 * - `warn`: a failed connection attempt, and a connection that the broker blocked.
 * - `error`: an open connection that ended with an error.
 */
export interface Logger {
  debug?(message: string, fields?: LogFields): void;
  info?(message: string, fields?: LogFields): void;
  warn?(message: string, fields?: LogFields): void;
  error?(message: string, fields?: LogFields): void;
}

/** Structured values of a log line, such as `endpoint` and `code`. */
export type LogFields = Record<string, unknown>;

type Level = keyof Logger;

/** The logger that Warren calls: every method exists, and errors of the user's logger are dropped. */
export interface Log {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const SILENT: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** Wraps the user's logger, so a missing method or a logger that throws cannot break a connection. */
export function createLog(logger: Logger | undefined): Log {
  if (logger === undefined) return SILENT;

  const write = (level: Level) => (message: string, fields?: LogFields) => {
    try {
      ignoreRejection(logger[level]?.(message, fields));
    } catch {
      // A failing logger must not change what the connection does, so its error is dropped.
    }
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** Marks a promise returned by a user callback as handled, so its rejection cannot crash the process. */
export function ignoreRejection(result: unknown): void {
  if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
    (result as PromiseLike<unknown>).then(undefined, () => {});
  }
}
