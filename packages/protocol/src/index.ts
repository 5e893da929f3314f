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
  FrameError,
  HeartbeatTimeoutError,
  InvalidArgumentError,
  NackError,
  UnroutableError,
  type AmqpErrorOptions,
  type ErrorSource,
} from './errors.js';
export { Writer } from './codec/writer.js';
export { decodeBasicPropertiesBytes, encodeBasicPropertiesBytes } from './codec/properties-bytes.js';
export { errorFromRecord, errorToRecord, type ErrorRecord } from './error-record.js';
export { Reader, decodeUtf8 } from './codec/reader.js';
export {
  Decimal,
  FieldType,
  TypedValue,
  typed,
  type FieldArray,
  type FieldTable,
  type FieldValue,
  type TypedValueOf,
} from './codec/field-value.js';
export { readArray, readFieldValue, readTable, writeArray, writeFieldValue, writeTable } from './codec/field-table.js';
export { FrameDecoder, type Frame } from './codec/frame-decoder.js';
export { HEARTBEAT_FRAME, PROTOCOL_HEADER, encodeContentFrames, encodeMethodFrame } from './codec/frame-encoder.js';
export * from './generated/index.js';
export {
  ChannelEngine,
  type ChannelHandler,
  type ChannelHost,
  type ConsumerHandler,
  type Pending,
} from './engine/channel.js';
export {
  ConnectionEngine,
  type ConnectionEngineHandler,
  type ConnectionEngineOptions,
  type ConnectionState,
} from './engine/connection.js';
export type { Message, ReturnedMessage } from './engine/message.js';
export { publishBody, validateDeliveryMode } from './engine/publish-rules.js';
export { amqplainMechanism, externalMechanism, plainMechanism, type SaslMechanism } from './engine/sasl.js';
export { DEFAULT_CHANNEL_MAX, DEFAULT_FRAME_MAX, negotiateTune, type TuneParameters, type TuneRequest } from './engine/tune.js';
