/**
 * The message of the codec benchmark: a `basic.publish` or `basic.deliver` with seven properties,
 * the ten benchmark headers and a 100-byte body, described independently of any codec.
 */
import { BENCH_HEADERS } from '../headers.js';
import { makeBody } from '../workloads.js';

export const CODEC_CHANNEL = 1;
export const CODEC_FRAME_MAX = 131072;
export const CODEC_ROUTING_KEY = 'bench-queue';
export const CODEC_CONSUMER_TAG = 'amq.ctag-warren-bench';
export const CODEC_DELIVERY_TAG = 123_456;

export const CODEC_PROPERTIES = {
  contentType: 'application/octet-stream',
  deliveryMode: 2,
  priority: 1,
  correlationId: '9f0b6c1e-5a4d-4e8b-b2f7-3c1d2e4f5a6b',
  messageId: 'message-000123456',
  timestamp: new Date(1_700_000_000_000),
  appId: 'warren-bench',
  headers: BENCH_HEADERS,
};

export function makeCodecBody(): Buffer {
  return makeBody(100);
}

/** One side of the codec benchmark. Both functions return a number so that no work is optimised away. */
export interface Codec {
  /** Encodes the message as a `basic.publish` with its content header and body frames. */
  encodePublish(): number;
  /** Decodes the three frames of the message as a `basic.deliver`, from one buffer. */
  decodeDelivery(): number;
}
