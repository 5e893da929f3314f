/**
 * amqplib's side of the codec benchmark. amqplib exports no codec, so its internal modules
 * `lib/defs.js` and `lib/frame.js` are loaded by file path, with the calls that its connection
 * makes to send a publish and to read a delivery.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { toAmqplibHeaders } from '../clients/amqplib.js';
import { toEpochSeconds } from '../headers.js';
import { CODEC_CHANNEL, CODEC_PROPERTIES, CODEC_ROUTING_KEY, type Codec, makeCodecBody } from './message.js';
import { encodeDelivery } from './warren.js';

/** The members of amqplib's internal modules that the benchmark calls. */
interface AmqplibDefs {
  BasicPublish: number;
  BasicProperties: number;
  encodeMethod(id: number, channel: number, fields: object): Buffer;
  encodeProperties(id: number, channel: number, size: number, fields: object): Buffer;
}

interface AmqplibFrame {
  makeBodyFrame(channel: number, payload: Buffer): Buffer;
  parseFrame(bytes: Buffer, max: number): { payload: Buffer; rest: Buffer } | false;
  decodeFrame(frame: object): { fields?: { deliveryTag?: number; headers?: object }; content?: Buffer };
}

function loadAmqplibModules(): { defs: AmqplibDefs; frame: AmqplibFrame } {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('amqplib'));
  return {
    defs: require(join(root, 'lib/defs.js')) as AmqplibDefs,
    frame: require(join(root, 'lib/frame.js')) as AmqplibFrame,
  };
}

export function createCodec(): Codec {
  const { defs, frame } = loadAmqplibModules();
  const properties = {
    ...CODEC_PROPERTIES,
    timestamp: toEpochSeconds(CODEC_PROPERTIES.timestamp),
    headers: toAmqplibHeaders(CODEC_PROPERTIES.headers),
  };
  const publishFields = { ticket: 0, exchange: '', routingKey: CODEC_ROUTING_KEY, mandatory: false, immediate: false };
  const body = makeCodecBody();
  const delivery = encodeDelivery();

  return {
    encodePublish: () => {
      const method = defs.encodeMethod(defs.BasicPublish, CODEC_CHANNEL, publishFields);
      const header = defs.encodeProperties(defs.BasicProperties, CODEC_CHANNEL, body.length, properties);
      const bodyFrame = frame.makeBodyFrame(CODEC_CHANNEL, body);
      return method.length + header.length + bodyFrame.length;
    },

    decodeDelivery: () => {
      let rest = delivery;
      let checksum = 0;
      for (let index = 0; index < 3; index++) {
        const parsed = frame.parseFrame(rest, 0);
        if (parsed === false) throw new Error(`amqplib could not parse frame ${index + 1} of the delivery`);
        const decoded = frame.decodeFrame(parsed);
        checksum += decoded.fields?.deliveryTag ?? 0;
        checksum += decoded.fields?.headers === undefined ? 0 : Object.keys(decoded.fields.headers).length;
        checksum += decoded.content?.length ?? 0;
        rest = parsed.rest;
      }
      return checksum;
    },
  };
}
