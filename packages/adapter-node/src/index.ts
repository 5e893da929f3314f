export { connect, Connection, type ConnectionEvents } from './connection.js';
export {
  Channel,
  type ChannelEvents,
  type ConsumeOptions,
  type ExchangeDeclareOptions,
  type Message,
  type NoWaitOptions,
  type PublishOptions,
  type QosOptions,
  type QueueDeclareOptions,
  type QueueDeclareResult,
  type QueueDeleteOptions,
  type ReturnedMessage,
} from './channel.js';
export { ChannelHandle } from './channel-handle.js';
export { decodePublishProperties, decodeTypedTable } from './publish-properties.js';
export { prepareReturnedForTransfer, rebuildError } from './error-transfer.js';
export { ownedBytes, ownedCopy } from './transferable.js';
export { Consumer, type ConsumerEvents, type MessageCallback } from './consumer.js';
export { type ConnectOptions, parseUrl } from './options.js';
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
  TypedValue,
  typed,
  type BasicProperties,
  type DecodedBasicProperties,
  type ErrorSource,
  type FieldTable,
  type FieldValue,
} from '@warren/protocol';
export {
  DIRECT_REPLY_TO,
  RpcClient,
  type RpcCallOptions,
  type RpcClientOptions,
  type RpcHandler,
  type RpcReply,
  RpcServer,
  type RpcServerOptions,
  serveRpc,
} from './rpc.js';
export { type Endpoint, type EndpointOptions, type SaslMechanismName, type TlsOptions } from './options.js';
export { ConnectAttemptsError, type ConnectAttempt } from './endpoints.js';
export { type Logger, type LogFields } from './logger.js';
export { type FrameDirection, type FrameTraceCallback } from './frame-trace.js';
export { amqplainMechanism, externalMechanism, plainMechanism, type SaslMechanism } from '@warren/protocol';
