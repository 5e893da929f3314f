/** Warren's side of the codec benchmark, through @warren/protocol. */
import {
  type BasicProperties,
  BasicDeliver,
  BasicPublish,
  FrameDecoder,
  Reader,
  Writer,
  decodeMethod,
  encodeContentFrames,
  readBasicProperties,
} from '@warren/protocol';
import { toWarrenHeaders } from '../clients/warren.js';
import {
  CODEC_CHANNEL,
  CODEC_CONSUMER_TAG,
  CODEC_DELIVERY_TAG,
  CODEC_FRAME_MAX,
  CODEC_PROPERTIES,
  CODEC_ROUTING_KEY,
  type Codec,
  makeCodecBody,
} from './message.js';

export function warrenProperties(): BasicProperties {
  return { ...CODEC_PROPERTIES, headers: toWarrenHeaders(CODEC_PROPERTIES.headers) };
}

/** Encodes the benchmark message as a `basic.deliver` and returns its three frames in one buffer. */
export function encodeDelivery(): Buffer {
  const chunks: Uint8Array[] = [];
  const method = new BasicDeliver(CODEC_CONSUMER_TAG, CODEC_DELIVERY_TAG, false, '', CODEC_ROUTING_KEY);
  encodeContentFrames(new Writer(), CODEC_CHANNEL, method, BasicDeliver.classId, warrenProperties(), makeCodecBody(), CODEC_FRAME_MAX, chunks);
  return Buffer.concat(chunks);
}

export function createCodec(): Codec {
  const properties = warrenProperties();
  const body = makeCodecBody();
  const writer = new Writer();
  const delivery = encodeDelivery();
  const decoder = new FrameDecoder();
  decoder.frameMax = CODEC_FRAME_MAX;

  return {
    encodePublish: () => {
      const chunks: Uint8Array[] = [];
      const method = new BasicPublish('', CODEC_ROUTING_KEY, false, false);
      encodeContentFrames(writer, CODEC_CHANNEL, method, BasicPublish.classId, properties, body, CODEC_FRAME_MAX, chunks);
      return chunks.length;
    },

    decodeDelivery: () => {
      decoder.push(delivery);
      const methodFrame = decoder.next()!;
      const method = decodeMethod(new Reader(methodFrame.payload)) as BasicDeliver;

      // A content header contains the class id, a weight of 0 and the body size before the properties.
      const header = new Reader(decoder.next()!.payload);
      header.uint16();
      header.uint16();
      header.uint64();
      const decoded = readBasicProperties(header);

      const bodyFrame = decoder.next()!;
      return method.deliveryTag + Object.keys(decoded.headers!).length + bodyFrame.payload.length;
    },
  };
}
