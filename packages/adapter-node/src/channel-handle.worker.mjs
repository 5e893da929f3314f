/**
 * A worker thread for the channel handle tests: it builds a `ChannelHandle` from the port in
 * `workerData.handle` and uses it as the test requests.
 *
 * It imports the built package, because Node 20 cannot load TypeScript in a Worker, so run
 * `pnpm turbo run build` first (`npm test` does). It is plain JavaScript for the same reason.
 *
 * With `workerData.ackAndExit`, a list of delivery tags, it acks them, posts
 * `{ acked: true }` or `{ error }` to the parent, and returns without closing the handle, so
 * that the test can check that the worker exits by itself. Otherwise it replies to each command
 * that the parent posts, `{ ticket, command, ...arguments }`, with `{ ticket, ok: true, ... }`
 * or `{ ticket, ok: false, error }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ChannelError, ChannelHandle, ConnectionError, Decimal, UnroutableError, typed } from '../dist/index.js';

const handle = new ChannelHandle(workerData.handle);

if (workerData.ackAndExit !== undefined) {
  try {
    await Promise.all(workerData.ackAndExit.map((tag) => handle.basicAck(tag)));
    parentPort.postMessage({ acked: true, pendingCount: handle.pendingCount });
  } catch (error) {
    parentPort.postMessage({ error: describeError(error) });
  }
} else {
  parentPort.postMessage({ ready: true, channelId: handle.channelId });
  parentPort.on('message', async ({ ticket, command, ...options }) => {
    try {
      const result = await run(command, options);
      parentPort.postMessage({ ticket, ok: true, ...result });
    } catch (error) {
      parentPort.postMessage({ ticket, ok: false, error: describeError(error) });
    }
  });
}

/** Properties with values that structured cloning would lose: a Decimal and typed() headers. */
function richProperties() {
  return {
    contentType: 'application/octet-stream',
    headers: {
      price: new Decimal(2, 1999),
      small: typed('b', -1),
      float: typed('f', 0.5),
      long: typed('l', 5),
      when: new Date(1_700_000_000_000),
      bytes: new Uint8Array([0, 255]),
      nested: { list: [typed('s', 300), 'text', null] },
    },
    deliveryMode: 2,
    priority: 4,
    correlationId: 'correlation-1',
    messageId: 'message-1',
    timestamp: new Date(1_600_000_000_000),
    appId: 'channel-handle-test',
  };
}

async function run(command, options) {
  switch (command) {
    case 'ack':
      return void (await handle.basicAck(options.deliveryTag, options.multiple));
    case 'nack':
      return void (await handle.basicNack(options.deliveryTag, options.multiple, options.requeue));
    case 'reject':
      return void (await handle.basicReject(options.deliveryTag, options.requeue));
    case 'publish':
      return void (await handle.basicPublish(options.exchange, options.routingKey, options.body, undefined, { mandatory: options.mandatory }));
    case 'publishRich': {
      const body = new Uint8Array([0, 1, 2, 250, 251, 252]);
      return void (await handle.basicPublish('', options.routingKey, body, richProperties()));
    }
    case 'publishSequence': {
      // Sent without waiting for each other, as a fast producer does; the order must still hold.
      const sent = [];
      for (let index = 0; index < options.count; index++) sent.push(handle.basicPublish('', options.routingKey, String(index)));
      await Promise.all(sent);
      return { published: options.count };
    }
    case 'burnThenAck': {
      // A busy loop, not a sleep: it keeps this thread's CPU busy the whole time.
      const startedAt = performance.now();
      let spins = 0;
      while (performance.now() - startedAt < options.burnMs) spins++;
      await handle.basicAck(options.deliveryTag);
      return { burnedMs: performance.now() - startedAt, spins };
    }
    case 'pendingCount':
      return { pendingCount: handle.pendingCount };
    default:
      throw new Error(`unknown command ${command}`);
  }
}

/** Describes an error as plain data, with the checks that need this thread's classes. */
function describeError(error) {
  return {
    name: error?.name,
    code: error?.code,
    message: error?.message,
    replyCode: error?.replyCode,
    isChannelError: error instanceof ChannelError,
    isConnectionError: error instanceof ConnectionError,
    returned:
      error instanceof UnroutableError
        ? { body: Buffer.from(error.returned.body).toString(), routingKey: error.returned.routingKey, replyCode: error.returned.replyCode }
        : undefined,
  };
}
