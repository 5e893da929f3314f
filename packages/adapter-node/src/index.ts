export { connect, Connection, type ConnectionEvents } from './connection.js';
export {
  Channel,
  type ChannelEvents,
  type ConsumeOptions,
  type ExchangeDeclareOptions,
  type Message,
  type PublishOptions,
  type QosOptions,
  type QueueDeclareOptions,
  type QueueDeclareResult,
  type QueueDeleteOptions,
  type ReturnedMessage,
} from './channel.js';
export { Consumer, type ConsumerEvents, type MessageCallback } from './consumer.js';
export { type ConnectOptions, parseUrl } from './options.js';
export {
  AmqpError,
  ChannelError,
  ConnectionError,
  Decimal,
  FrameError,
  InvalidArgumentError,
  TypedValue,
  typed,
  type BasicProperties,
  type DecodedBasicProperties,
  type ErrorSource,
  type FieldTable,
  type FieldValue,
} from '@warren/protocol';
