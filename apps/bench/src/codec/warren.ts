/** Warren's side of the codec benchmark, through @warren/protocol. */
import {
  type BasicProperties,
  BasicDeliver,
  BasicPublish,
  FrameDecoder,
  FrameType,
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
  const reader = new Reader(delivery);

  return {
    encodePublish: () => {
      const chunks: Uint8Array[] = [];
      const method = new BasicPublish('', CODEC_ROUTING_KEY, false, false);
      encodeContentFrames(writer, CODEC_CHANNEL, method, BasicPublish.classId, properties, body, CODEC_FRAME_MAX, chunks);
      return chunks.length;
    },

    // Read as the connection engine reads a delivery: frame by frame through one `Reader`, with
    // no frame object or payload view for the method and the content header.
    decodeDelivery: () => {
      decoder.push(delivery);
      readFrame(decoder, reader, FrameType.method);
      const method = decodeMethod(reader) as BasicDeliver;

      // A content header contains the class id, a weight of 0 and the body size before the properties.
      readFrame(decoder, reader, FrameType.header);
      reader.uint16();
      reader.uint16();
      reader.uint64();
      const decoded = readBasicProperties(reader);

      readFrame(decoder, reader, FrameType.body);
      const body = decoder.payload();
      return method.deliveryTag + Object.keys(decoded.headers!).length + body.length;
    },
  };
}

/** Reads the next frame, checks its type and points `reader` at its payload. */
function readFrame(decoder: FrameDecoder, reader: Reader, expectedType: number): void {
  const type = decoder.advance();
  if (type !== expectedType) throw new Error(`the benchmark delivery has a frame of type ${type} where type ${expectedType} belongs`);
  reader.reset(decoder.payloadBytes, decoder.payloadStart, decoder.payloadEnd);
}
