/**
 * Publishes many messages with `await channel.basicPublish(...)` in a loop, the fastest use of
 * the API that keeps memory bounded, and prints one line of JSON with what it measured.
 *
 * publish-memory.broker.test.ts spawns this script in its own Node process, so that the test
 * runner's memory does not count. It imports the built package, so run `pnpm turbo run build`
 * first (`npm test` does). It is plain JavaScript because Node 20 cannot run TypeScript.
 *
 * Usage: node publish-memory.child.mjs '{"url":"amqp://...","count":1000000,"bodySize":1024,...}'
 *
 * The messages go to a server-named exclusive queue with `x-max-length`, so the broker keeps
 * only the newest ones and its memory is not the limit. Each body is a new buffer of `bodySize`
 * bytes, as an application builds one per message, and starts with the message index as a
 * big-endian uint32 so that the kept tail can be checked.
 */
import { connect } from '../dist/index.js';

/**
 * @typedef {object} ChildConfig
 * @property {string} url broker URL
 * @property {string} connectionName name shown for the connection in RabbitMQ
 * @property {number} writeHighWaterMark socket buffer size in bytes above which `basicPublish` waits for a drain
 * @property {number} count messages to publish
 * @property {number} bodySize body size in bytes, at least 4
 * @property {number} maxLength `x-max-length` of the queue: how many of the newest messages the broker keeps
 * @property {number} sampleIntervalMs interval of the RSS samples in milliseconds
 */

/** @type {ChildConfig} */
const config = JSON.parse(process.argv[2] ?? '{}');

let peakRssBytes = process.memoryUsage().rss;
let rssSamples = 0;
const sampler = setInterval(() => {
  rssSamples++;
  peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
}, config.sampleIntervalMs);

try {
  const result = await publishAll(config);
  clearInterval(sampler);
  peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
  // getrusage reports the true peak in KiB, including any spike between two samples.
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`${JSON.stringify({ ...result, peakRssBytes, maxRssBytes, rssSamples })}\n`);
} catch (error) {
  clearInterval(sampler);
  const failure = error instanceof Error ? { message: error.message, code: /** @type {any} */ (error).code, stack: error.stack } : { message: String(error) };
  process.stdout.write(`${JSON.stringify({ error: failure })}\n`);
  process.exitCode = 1;
}

/**
 * Publishes `config.count` messages, then checks with a round trip and `basic.get` that the
 * broker received the last of them.
 *
 * @param {ChildConfig} config
 */
async function publishAll(config) {
  const connection = await connect({
    url: config.url,
    connectionName: config.connectionName,
    writeHighWaterMark: config.writeHighWaterMark,
  });
  // A memory alarm raised by another test file delays the publishes for a while, so report it.
  const blockedReasons = [];
  connection.on('blocked', (reason) => blockedReasons.push(reason));

  try {
    const channel = await connection.channel();
    const { queue } = await channel.queueDeclare('', {
      exclusive: true,
      arguments: { 'x-max-length': config.maxLength },
    });

    const startedAt = performance.now();
    let published = 0;
    let peakBufferedBytes = 0;
    for (let index = 0; index < config.count; index++) {
      const body = Buffer.alloc(config.bodySize);
      body.writeUInt32BE(index, 0);
      const sent = channel.basicPublish('', queue, body);
      // The socket buffer only grows inside basicPublish, so its size right after the call is the peak.
      peakBufferedBytes = Math.max(peakBufferedBytes, connection.bufferedAmount);
      await sent;
      published++;
    }
    const publishedAt = performance.now();

    // The broker handles the methods of a channel in order, so it sends this declare-ok only
    // after it has received every publish before it.
    await channel.queueDeclare(queue, { passive: true });
    const roundTripAt = performance.now();

    // The declare-ok can count the queue before the last messages are enqueued, so poll.
    let keptCount = 0;
    const deadline = performance.now() + 10_000;
    while (keptCount < config.maxLength && performance.now() < deadline) {
      keptCount = (await channel.queueDeclare(queue, { passive: true })).messageCount;
      if (keptCount < config.maxLength) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const oldest = await channel.basicGet(queue, { noAck: true });
    const oldestKeptIndex = oldest === null ? null : oldest.body.readUInt32BE(0);

    return {
      published,
      publishMs: publishedAt - startedAt,
      roundTripMs: roundTripAt - publishedAt,
      peakBufferedBytes,
      keptCount,
      oldestKeptIndex,
      blockedReasons,
    };
  } finally {
    await connection.close();
  }
}
