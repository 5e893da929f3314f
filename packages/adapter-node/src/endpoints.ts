import { setTimeout as sleep } from 'node:timers/promises';
import { AmqpError, ConnectionError } from '@warren/protocol';
import { createLog } from './logger.js';
import type { ConnectPlan, ResolvedOptions } from './options.js';

/** One failed attempt of `connect()`. */
export interface ConnectAttempt {
  /** The endpoint as a URL without the password, such as `amqp://guest@127.0.0.1:5672/%2F`. */
  endpoint: string;
  /** The error that ended the attempt. */
  error: AmqpError;
}

/** Number of attempts that the message of a `ConnectAttemptsError` lists, while `attempts` has every one. */
const MAX_LISTED_ATTEMPTS = 10;

/** Lists the last attempts as `1. amqp://guest@host:5672/%2F: could not connect ...; 2. ...`. */
function summarize(attempts: readonly ConnectAttempt[]): string {
  const first = Math.max(0, attempts.length - MAX_LISTED_ATTEMPTS);
  const listed = attempts.slice(first).map(({ endpoint, error }, index) => `${first + index + 1}. ${endpoint}: ${error.message}`);
  const omitted = first === 0 ? '' : `${first} earlier attempts omitted; `;
  return `${omitted}${listed.join('; ')}`;
}

/**
 * Every attempt of `connect()` failed, over more than one attempt. Its `code` is
 * `CONNECT_FAILED` and its message lists the last 10 attempts. `attempts` contains each
 * attempt's error, and `cause` is the error of the last attempt.
 */
export class ConnectAttemptsError extends ConnectionError {
  /** The failed attempts, in the order they were made. */
  readonly attempts: readonly ConnectAttempt[];

  constructor(attempts: readonly ConnectAttempt[]) {
    super(`could not connect after ${attempts.length} attempts: ${summarize(attempts)}`, {
      code: 'CONNECT_FAILED',
      source: 'network',
      retryable: attempts.some(({ error }) => error.retryable),
      cause: attempts.at(-1)?.error,
    });
    this.attempts = attempts;
  }
}

/**
 * Codes of failures that end `connect()` at once instead of moving on to the next endpoint.
 * The nodes of a cluster share their users and permissions, so refused credentials or a refused
 * vhost would be refused again, and each retry would only add a failed login to the broker's
 * log. An invalid option fails the same way on every endpoint.
 */
const FATAL_CODES: ReadonlySet<string> = new Set([
  'AUTHENTICATION_FAILED',
  'PROBABLE_AUTHENTICATION_FAILURE',
  'VHOST_ACCESS_REFUSED',
  'PROBABLE_ACCESS_REFUSED',
  'INVALID_OPTION',
]);

/** Opens one connection to one endpoint, and rejects with an `AmqpError` when the attempt fails. */
export type OpenConnection<T> = (options: ResolvedOptions) => Promise<T>;

/**
 * Tries each endpoint in order, in up to `connectionAttempts` rounds with `retryDelay` ms
 * between rounds, and resolves with the first connection that opens.
 *
 * @throws the attempt's own error when there was only one attempt, or when an attempt failed
 *   with a code in `FATAL_CODES`, and `ConnectAttemptsError` otherwise.
 */
export async function connectToEndpoints<T>(plan: ConnectPlan, open: OpenConnection<T>): Promise<T> {
  const log = createLog(plan.logger);
  const attempts: ConnectAttempt[] = [];
  const total = plan.connectionAttempts * plan.endpoints.length;

  for (let round = 1; round <= plan.connectionAttempts; round++) {
    if (round > 1) {
      log.debug(`all ${plan.endpoints.length} endpoints failed; retrying in ${plan.retryDelay} ms (round ${round} of ${plan.connectionAttempts})`);
      await sleep(plan.retryDelay);
    }

    for (const endpoint of plan.endpoints) {
      const number = attempts.length + 1;
      log.debug(`connecting to ${endpoint.endpoint} (attempt ${number} of ${total})`, { endpoint: endpoint.endpoint, attempt: number });
      try {
        return await open(endpoint);
      } catch (error) {
        if (!AmqpError.isInstance(error)) throw error;
        attempts.push({ endpoint: endpoint.endpoint, error });
        log.warn(`connection attempt ${number} of ${total} to ${endpoint.endpoint} failed: ${error.message}`, {
          endpoint: endpoint.endpoint,
          attempt: number,
          code: error.code,
        });
        if (FATAL_CODES.has(error.code)) throw error;
      }
    }
  }

  if (attempts.length === 1) throw attempts[0]!.error;
  throw new ConnectAttemptsError(attempts);
}
