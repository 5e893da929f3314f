/**
 * Tests of how the blocking adapter handles what the broker and its operator do to a
 * connection: a memory alarm that blocks publishing, with and without `blockedConnectionTimeout`,
 * and `rabbitmqctl close_connection`. They run against RabbitMQ at AMQP_URL, by default
 * amqp://guest:guest@127.0.0.1:5672, and drive it with rabbitmqctl (set RABBITMQCTL to run it
 * another way, as `@warren/test-broker` describes). The adapter starts its I/O thread from the
 * built package, so these tests import `dist`: build first.
 *
 * How the tests wait: a call of the adapter blocks this thread, while the adapter's I/O thread
 * keeps reading the socket. A rabbitmqctl command runs in a child process, but the test receives
 * its result only while it awaits. So each test changes the broker's state in an awaited step, and
 * then waits synchronously, in `connection.sleep` steps up to a deadline, while that state holds.
 *
 * NOTE: a memory alarm blocks publishing for every connection on the broker, so this file runs
 * in the Vitest project for such files, after every other project. The memory alarm tests take
 * the cross-process lock of `@warren/test-broker`, which keeps them apart from the alarm tests
 * of other files. `withMemoryAlarm` clears every alarm in a `finally`, and its watchdog process
 * clears the alarm when this thread stays blocked in a call for too long.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type BlockingChannel,
  BlockingConnection,
  ConnectionClosedByBrokerError,
  ConnectionError,
  type ConnectOptions,
} from '@warren/adapter-blocking';
import {
  ALARM_LOCK_WAIT_MS,
  MEMORY_ALARM_REASON,
  acquireAlarmLock,
  findConnectionPid,
  rabbitmqctl,
  releaseAlarmLock,
  withMemoryAlarm,
} from '@warren/test-broker';

const BROKER_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';

/** rabbitmqctl controls the node on this machine, so the tests skip a broker on another host. */
const BROKER_IS_LOCAL = ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(BROKER_URL).hostname);

/** Expiry of every test queue while unused, so that a queue survives a crashed run by at most this long. */
const QUEUE_EXPIRES_MS = 10 * 60 * 1000;
/** AMQP reply code CONNECTION_FORCED, which RabbitMQ sends for `rabbitmqctl close_connection`. */
const CONNECTION_FORCED = 320;
const CLOSE_REASON = 'warren blocking broker-control test';

// ---------------------------------------------------------------------------------------------
// Cleanup and helpers
// ---------------------------------------------------------------------------------------------

const openConnections: BlockingConnection[] = [];
const createdQueues = new Set<string>();

beforeAll(async () => {
  if (!BROKER_IS_LOCAL) return;
  await rabbitmqctl('status');
});

afterEach(() => {
  // Closing a connection that the broker or the client already closed does nothing.
  for (const connection of openConnections.splice(0)) connection.close();

  if (createdQueues.size === 0) return;
  const cleanup = new BlockingConnection(BROKER_URL);
  try {
    const channel = cleanup.channel();
    // RabbitMQ returns delete-ok for a missing queue, so a queue that a test deleted itself is fine.
    for (const queue of createdQueues) channel.queueDelete(queue);
  } finally {
    cleanup.close();
  }
  createdQueues.clear();
});

/** Opens a connection to the test broker that `afterEach` closes. */
function connectBlocking(options: Omit<ConnectOptions, 'url'> = {}): BlockingConnection {
  const connection = new BlockingConnection({ url: BROKER_URL, ...options });
  openConnections.push(connection);
  return connection;
}

function uniqueName(purpose: string): string {
  return `warren-test.blocking.${purpose}.${randomUUID()}`;
}

/**
 * Declares a queue with a random name that `afterEach` deletes. It is not exclusive, so it
 * outlives a connection that the broker closes.
 */
function declareQueue(channel: BlockingChannel, purpose: string): string {
  const queue = uniqueName(purpose);
  createdQueues.add(queue);
  channel.queueDeclare(queue, { arguments: { 'x-expires': QUEUE_EXPIRES_MS } });
  return queue;
}

/** Whether `sleepUntil` is inside `connection.sleep`, so that a callback can record where it ran. */
let insideSleep = false;

/**
 * Calls `connection.sleep` in 10 ms steps, which runs the connection's callbacks, until
 * `condition` holds. Throws an error naming `description` when it still does not after `timeoutMs`.
 */
function sleepUntil(connection: BlockingConnection, condition: () => boolean, timeoutMs: number, description: string): void {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    insideSleep = true;
    try {
      connection.sleep(0.01);
    } finally {
      insideSleep = false;
    }
  }
}

/** A run of a blocked or unblocked callback, and whether it ran inside `connection.sleep`. */
interface BlockingEvent {
  event: 'blocked' | 'unblocked';
  reason?: string;
  insideSleep: boolean;
}

/** Records every run of the connection's blocked and unblocked callbacks, in order. */
function recordBlockingEvents(connection: BlockingConnection): BlockingEvent[] {
  const events: BlockingEvent[] = [];
  connection.addOnConnectionBlockedCallback((reason) => events.push({ event: 'blocked', reason, insideSleep }));
  connection.addOnConnectionUnblockedCallback(() => events.push({ event: 'unblocked', insideSleep }));
  return events;
}

/** Returns the ready message count of a queue from rabbitmqctl, which works while a connection is blocked. */
async function readReadyCount(queue: string): Promise<number> {
  const output = await rabbitmqctl('list_queues', 'name', 'messages_ready', '--formatter', 'json');
  const rows = JSON.parse(output) as { name: string; messages_ready: number }[];
  const row = rows.find((candidate) => candidate.name === queue);
  if (row === undefined) throw new Error(`queue ${queue} not found in rabbitmqctl list_queues`);
  return row.messages_ready;
}

/** Waits, servicing the connection, until a passive declare reports `count` messages in the queue. */
function waitForMessageCount(connection: BlockingConnection, channel: BlockingChannel, queue: string, count: number): void {
  let messageCount: number | undefined;
  sleepUntil(
    connection,
    () => {
      messageCount = channel.queueDeclare(queue, { passive: true }).messageCount;
      return messageCount === count;
    },
    5000,
    `${count} messages in queue ${queue}`,
  );
}

/** Runs `call` and returns what it throws, or undefined when it returns. */
function catchError(call: () => unknown): unknown {
  try {
    call();
    return undefined;
  } catch (error) {
    return error;
  }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe.skipIf(!BROKER_IS_LOCAL)('blocking adapter broker control', () => {
  describe.sequential('memory alarm', () => {
    // The lock covers each whole test, because the checks after the alarm need a broker without one.
    beforeEach(acquireAlarmLock, ALARM_LOCK_WAIT_MS + 5000);
    afterEach(releaseAlarmLock);

    it('alarm runs blocked and unblocked callbacks', async () => {
      const connection = connectBlocking();
      const events = recordBlockingEvents(connection);
      const channel = connection.channel();
      const queue = declareQueue(channel, 'held');

      await withMemoryAlarm(async () => {
        // RabbitMQ 3.10 sends connection.blocked only after the connection publishes during the
        // alarm, so this publish goes out. The broker stops reading the socket right after it.
        channel.basicPublish('', queue, 'publish that triggers the block');
        sleepUntil(connection, () => events.length > 0, 5000, 'the blocked callback');
        expect(events).toEqual([{ event: 'blocked', reason: MEMORY_ALARM_REASON, insideSleep: true }]);
        expect(connection.isBlocked).toBe(true);

        // Without confirms, basicPublish returns once the I/O thread has the message, and that
        // thread holds it while the connection is blocked.
        channel.basicPublish('', queue, 'held publish');
        connection.sleep(0.2);
        expect(connection.isBlocked).toBe(true);
        expect(connection.isOpen).toBe(true);
        // RabbitMQ 3.10.8 routed neither publish while the alarm lasted.
        expect(await readReadyCount(queue)).toBe(0);
      });

      sleepUntil(connection, () => events.length > 1, 5000, 'the unblocked callback');
      expect(events).toEqual([
        { event: 'blocked', reason: MEMORY_ALARM_REASON, insideSleep: true },
        { event: 'unblocked', insideSleep: true },
      ]);
      expect(connection.isBlocked).toBe(false);

      waitForMessageCount(connection, channel, queue, 2);
      const first = channel.basicGet(queue, { autoAck: true });
      const second = channel.basicGet(queue, { autoAck: true });
      expect(first?.body.toString()).toBe('publish that triggers the block');
      expect(second?.body.toString()).toBe('held publish');
      expect(channel.basicGet(queue, { autoAck: true })).toBeNull();
    });

    const BLOCKED_TIMEOUT_MS = 1000;

    it('blockedConnectionTimeout fails confirmed publish', async () => {
      const connection = connectBlocking({ blockedConnectionTimeout: BLOCKED_TIMEOUT_MS });
      const channel = connection.channel();
      const queue = declareQueue(channel, 'blocked-timeout');
      channel.confirmDelivery();
      channel.basicPublish('', queue, 'confirmed before the alarm');

      const { error, elapsedMs } = await withMemoryAlarm(async () => {
        // The broker blocks the connection on this publish and does not ack it while the alarm
        // lasts, so without the timeout the call would wait until the alarm ends.
        const startedAt = performance.now();
        const error = catchError(() => channel.basicPublish('', queue, 'publish under the alarm'));
        return { error, elapsedMs: performance.now() - startedAt };
      });

      expect(error).toBeInstanceOf(ConnectionError);
      expect(error).toMatchObject({ code: 'BLOCKED_TIMEOUT', source: 'broker', retryable: true });
      // The timeout starts when connection.blocked arrives, a moment after the publish is sent.
      expect(elapsedMs).toBeGreaterThanOrEqual(BLOCKED_TIMEOUT_MS);
      expect(elapsedMs).toBeLessThan(BLOCKED_TIMEOUT_MS + 2000);
      expect(connection.isClosed).toBe(true);
      expect(channel.isClosed).toBe(true);

      const { message } = error as ConnectionError;
      const publishAfterClose = catchError(() => channel.basicPublish('', queue, 'publish after close'));
      expect(publishAfterClose).toBeInstanceOf(ConnectionError);
      expect(publishAfterClose).toMatchObject({ code: 'BLOCKED_TIMEOUT', message });
      const channelAfterClose = catchError(() => connection.channel());
      expect(channelAfterClose).toMatchObject({ code: 'BLOCKED_TIMEOUT', message });
      expect(() => connection.close()).not.toThrow();
      expect(connection.isClosed).toBe(true);
    });
  });

  describe('forced close', () => {
    it('close_connection fails next call', async () => {
      const connectionName = uniqueName('forced-close');
      const connection = connectBlocking({ connectionName });
      const channel = connection.channel();
      const queue = declareQueue(channel, 'forced-close');
      const pid = await findConnectionPid(connectionName);
      await rabbitmqctl('close_connection', pid, CLOSE_REASON);

      const error = catchError(() => channel.queueDeclare(queue, { passive: true }));
      expect(error).toBeInstanceOf(ConnectionClosedByBrokerError);
      expect(error).toMatchObject({ code: 'CONNECTION_CLOSED_BY_BROKER', source: 'broker', replyCode: CONNECTION_FORCED, retryable: true });
      expect((error as ConnectionClosedByBrokerError).replyText).toContain(CLOSE_REASON);
      expect(connection.isClosed).toBe(true);
      expect(connection.isOpen).toBe(false);
      expect(channel.isClosed).toBe(true);

      // Every later call throws the close error too.
      for (const call of [
        () => channel.queueDeclare(queue, { passive: true }),
        () => channel.basicPublish('', queue, 'publish after close'),
        () => connection.channel(),
        () => connection.processDataEvents(0),
      ]) {
        const later = catchError(call);
        expect(later).toBeInstanceOf(ConnectionClosedByBrokerError);
        expect(later).toMatchObject({ replyCode: CONNECTION_FORCED });
      }
      expect(() => connection.close()).not.toThrow();
      expect(() => connection.close()).not.toThrow();
      expect(connection.isClosed).toBe(true);
    });

    it('close_connection interrupts sleep', async () => {
      const SLEEP_SECONDS = 10;
      const connectionName = uniqueName('forced-close-sleep');
      const connection = connectBlocking({ connectionName });
      const pid = await findConnectionPid(connectionName);

      // rabbitmqctl starts at once in a child process, so it closes the connection during the
      // sleep below. Only the promise of its exit status waits for the await.
      const closing = rabbitmqctl('close_connection', pid, CLOSE_REASON);
      const startedAt = performance.now();
      const error = catchError(() => connection.sleep(SLEEP_SECONDS));
      const elapsedMs = performance.now() - startedAt;
      await closing;

      expect(error).toBeInstanceOf(ConnectionClosedByBrokerError);
      expect(error).toMatchObject({ replyCode: CONNECTION_FORCED });
      expect(elapsedMs).toBeLessThan(SLEEP_SECONDS * 1000);
      expect(connection.isClosed).toBe(true);
      expect(() => connection.close()).not.toThrow();
    });
  });
});
