import type { DecodedBasicProperties } from '../generated/properties.js';

/** A message received from the broker through `basic.deliver` or `basic.get-ok`. */
export interface Message {
  /**
   * Message body. A body that arrived in one frame may view the received bytes, unless the
   * adapter reuses its read buffer, in which case the body is a copy.
   */
  body: Uint8Array;
  properties: DecodedBasicProperties;
  /** Tag that acknowledges this message on the channel that received it. */
  deliveryTag: number;
  /** Whether the broker delivered this message before, to this or another consumer. */
  redelivered: boolean;
  /** Exchange the message was published to; empty for the default exchange. */
  exchange: string;
  routingKey: string;
  /** Consumer that received the message; absent for `basic.get`. */
  consumerTag?: string;
  /** Messages left in the queue after this one; present only for `basic.get`. */
  messageCount?: number;
}

/** A message that the broker returned through `basic.return` because it could not route it. */
export interface ReturnedMessage {
  body: Uint8Array;
  properties: DecodedBasicProperties;
  replyCode: number;
  replyText: string;
  exchange: string;
  routingKey: string;
}
