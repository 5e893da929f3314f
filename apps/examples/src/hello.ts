/**
 * Hello, Warren: declares a queue, publishes messages to it, and consumes them back with manual
 * acknowledgements, printing counts, elapsed time and rates.
 *
 * Usage: node dist/hello.js [--count N] [--size BYTES] [--prefetch N]
 * The broker URL comes from AMQP_URL, by default amqp://guest:guest@127.0.0.1:5672.
 */
import { parseArgs } from 'node:util';
import { type Channel, connect } from '@warren/adapter-node';
import { isMainModule } from './cli.js';

export interface HelloOptions {
  url?: string | undefined;
  count: number;
  size: number;
  prefetch: number;
  log?: (line: string) => void;
}

export interface HelloResult {
  published: number;
  consumed: number;
  publishSeconds: number;
  consumeSeconds: number;
}

/** Runs the example and returns what it measured; throws if a message is missing or out of order. */
export async function runHello(options: HelloOptions): Promise<HelloResult> {
  const log = options.log ?? console.log;
  const connection = await connect(options.url ?? process.env.AMQP_URL);
  try {
    const channel = await connection.channel();
    const { queue } = await channel.queueDeclare('', { exclusive: true });
    log(`queue ${queue}: ${options.count} messages of ${options.size} bytes`);

    const publishStart = performance.now();
    for (let index = 0; index < options.count; index++) {
      const body = Buffer.alloc(options.size);
      if (options.size >= 4) body.writeUInt32BE(index, 0);
      // Awaiting the publish applies the socket's backpressure.
      await channel.basicPublish('', queue, body, { deliveryMode: 1 });
    }
    await waitUntilQueued(channel, queue, options.count);
    const publishSeconds = (performance.now() - publishStart) / 1000;
    log(`published ${options.count} in ${publishSeconds.toFixed(2)} s: ${rate(options.count, publishSeconds)} msg/s`);

    const consumeStart = performance.now();
    const consumed = await consumeAll(channel, queue, options);
    const consumeSeconds = (performance.now() - consumeStart) / 1000;
    log(`consumed ${consumed} in ${consumeSeconds.toFixed(2)} s: ${rate(consumed, consumeSeconds)} msg/s`);

    await channel.queueDelete(queue);
    return { published: options.count, consumed, publishSeconds, consumeSeconds };
  } finally {
    await connection.close();
  }
}

/**
 * Polls the queue until it contains `count` messages, because the broker enqueues published
 * messages asynchronously. Throws when the count stops growing for 10 seconds.
 */
async function waitUntilQueued(channel: Channel, queue: string, count: number): Promise<void> {
  let last = -1;
  let lastChange = performance.now();
  for (;;) {
    const { messageCount } = await channel.queueDeclare(queue, { passive: true });
    if (messageCount >= count) return;
    if (messageCount !== last) {
      last = messageCount;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > 10_000) {
      throw new Error(`only ${messageCount} of ${count} published messages reached queue ${queue}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function consumeAll(
  channel: Channel,
  queue: string,
  options: HelloOptions,
): Promise<number> {
  await channel.basicQos(options.prefetch);
  let received = 0;
  const consumer = await channel.basicConsume(queue);
  if (options.count === 0) return 0;

  for await (const message of consumer) {
    if (options.size >= 4 && message.body.readUInt32BE(0) !== received) {
      throw new Error(`message ${received} arrived out of order: its body starts with ${message.body.readUInt32BE(0)}`);
    }
    channel.basicAck(message.deliveryTag);
    received++;
    if (received === options.count) break;
  }
  return received;
}

function rate(count: number, seconds: number): string {
  return Math.round(count / seconds).toLocaleString('en-US');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '100000' },
      size: { type: 'string', default: '100' },
      prefetch: { type: 'string', default: '1000' },
    },
  });
  const options = {
    count: parsePositiveInteger('count', values.count),
    size: parsePositiveInteger('size', values.size),
    prefetch: parsePositiveInteger('prefetch', values.prefetch),
  };
  const result = await runHello(options);
  if (result.consumed !== result.published) {
    throw new Error(`published ${result.published} messages but consumed ${result.consumed}`);
  }
}

function parsePositiveInteger(name: string, value: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 0) {
    throw new Error(`--${name} must be a non-negative integer; got "${value}"`);
  }
  return number;
}

if (isMainModule(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? `hello failed: ${error.message}` : error);
    process.exitCode = 1;
  });
}
