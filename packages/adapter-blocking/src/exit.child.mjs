/**
 * A script that uses a BlockingConnection and never closes it, for exit.broker.test.ts. It
 * publishes `count` messages to `queue`, and with `consume` also reads them back with the
 * consume generator, then simply ends. Each log line of the connection goes to stdout.
 *
 * It imports the built package, so build first (`npm test` does). It is plain JavaScript
 * because Node 20 cannot run TypeScript.
 *
 * Usage: node exit.child.mjs '{"url":"amqp://...","queue":"name","count":100,"consume":false}'
 */
import { BlockingConnection } from '../dist/index.js';

const { url, queue, count, consume } = JSON.parse(process.argv[2]);
const log = (level) => (message) => console.log(`${level}: ${message}`);
const connection = new BlockingConnection({ url, logger: { info: log('info'), error: log('error') } });
const channel = connection.channel();
for (let index = 0; index < count; index++) channel.basicPublish('', queue, `message ${index}`);

if (consume) {
  let received = 0;
  for (const message of channel.consume(queue, { inactivityTimeout: 1 })) {
    if (message === null) break;
    channel.basicAck(message.deliveryTag);
    received++;
  }
  console.log(`received ${received}`);
}
console.log('end of script');
