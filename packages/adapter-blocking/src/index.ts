export { BlockingConnection, type ConnectTarget } from './connection.js';
export {
  BlockingChannel,
  type BasicConsumeOptions,
  type BasicPublishOptions,
  type BasicQosOptions,
  type ConsumeOptions,
  type OnMessageCallback,
} from './channel.js';
export { type TimerId } from './scheduler.js';
export {
  ConnectAttemptsError,
  type ConnectOptions,
  type Endpoint,
  type ExchangeDeclareOptions,
  type Message,
  type QueueDeclareOptions,
  type QueueDeclareResult,
  type QueueDeleteOptions,
  type ReturnedMessage,
} from '@warren/adapter-node';
export {
  AccessRefusedError,
  AmqpError,
  AuthenticationError,
  ChannelClosedByBrokerError,
  ChannelClosedByClientError,
  ChannelError,
  ConnectionClosedByBrokerError,
  ConnectionClosedByClientError,
  ConnectionError,
  ConnectTimeoutError,
  Decimal,
  FrameError,
  HeartbeatTimeoutError,
  InvalidArgumentError,
  NackError,
  UnroutableError,
  typed,
  type BasicProperties,
  type DecodedBasicProperties,
  type FieldTable,
  type FieldValue,
} from '@warren/protocol';
