/**
 * Messages between the calling thread and the I/O worker.
 *
 * How it works: the calling thread posts requests on a `MessagePort` and the worker posts
 * replies and events back on the same port. After each post to the calling thread, the worker
 * increments `SIGNAL` in a shared `Int32Array` and wakes it with `Atomics.notify`, so the
 * calling thread can sleep in `Atomics.wait` and then read the port synchronously with
 * `receiveMessageOnPort`. Bodies and properties travel as transferred `ArrayBuffer`s, and
 * errors as `ErrorRecord`s that rebuild the same class on the other side.
 */
import type { ErrorRecord } from '@warren/protocol';

/** Index in the shared `Int32Array` of the counter that the worker bumps after each post. */
export const SIGNAL = 0;
/**
 * Index of the bytes of pipelined publishes that the worker has handed to the socket, counted
 * modulo 2^32 as the body length plus `PUBLISH_OVERHEAD` for each message.
 */
export const PUBLISHES_WRITTEN = 1;
/** Bytes counted for a publish besides its body: frames, method and properties, an estimate. */
export const PUBLISH_OVERHEAD = 256;
/** Index of the flag that the worker sets to 1 once its module has loaded. */
export const WORKER_STARTED = 2;
/** Index of a counter that the worker bumps while it lives: on a timer and with each request. */
export const ALIVE = 3;
/** Number of `Int32` slots in the shared state. */
export const SHARED_SLOTS = 4;

/** Start data of the I/O worker, passed by the calling thread as `workerData`. */
export interface WorkerStart {
  /** The connect target, with functions replaced by the flags below. */
  target: unknown;
  /** Whether to forward log lines, because the caller gave a logger. */
  forwardLog: boolean;
  /** Whether to forward frame trace lines, because the caller gave a trace callback. */
  forwardTrace: boolean;
  shared: Int32Array;
}

/** Target of a call: the connection, or a channel by its number. */
export type CallTarget = 'connection' | number;

/** A request that expects a reply. */
export interface CallRequest {
  kind: 'call';
  id: number;
  target: CallTarget;
  method: string;
  args: unknown[];
}

/** A request that expects no reply: an acknowledgement, a nack or a reject. */
export interface SendRequest {
  kind: 'send';
  channel: number;
  method: 'basicAck' | 'basicNack' | 'basicReject';
  args: unknown[];
}

/**
 * A publish. Without `id` it is pipelined: no reply, and the worker counts it in
 * `PUBLISHES_WRITTEN` once the socket has taken it. With `id`, the worker replies when the
 * publish settles, which in confirm mode is the broker's ack.
 */
export interface PublishRequest {
  kind: 'publish';
  id?: number;
  channel: number;
  exchange: string;
  routingKey: string;
  mandatory: boolean;
  /** Properties as encoded by `encodeBasicPropertiesBytes`. */
  properties: Uint8Array;
  body: Uint8Array;
}

export type Request = CallRequest | SendRequest | PublishRequest;

/**
 * A field table argument, such as `x-max-length` in `queueDeclare`, in its AMQP encoding.
 * Structured cloning would turn `typed()` and `Decimal` values into plain objects.
 */
export interface EncodedTable {
  fieldTable: Uint8Array;
}

export function isEncodedTable(value: unknown): value is EncodedTable {
  return typeof value === 'object' && value !== null && (value as Partial<EncodedTable>).fieldTable instanceof Uint8Array;
}

/** The fields of a received message besides its body and properties. */
export interface DeliveryFields {
  deliveryTag: number;
  redelivered: boolean;
  exchange: string;
  routingKey: string;
  consumerTag?: string;
  messageCount?: number;
}

/** A message as it crosses threads: properties encoded, body in a buffer of its own. */
export interface MessageRecord extends DeliveryFields {
  properties: Uint8Array;
  body: Uint8Array;
}

/** A returned message as it crosses threads. */
export interface ReturnedRecord {
  replyCode: number;
  replyText: string;
  exchange: string;
  routingKey: string;
  properties: Uint8Array;
  body: Uint8Array;
}

export type WorkerMessage =
  | { kind: 'open'; serverProperties: unknown; tune: { heartbeat: number; frameMax: number; channelMax: number } }
  | { kind: 'open-failed'; error: ErrorRecord }
  | { kind: 'reply'; id: number; value?: unknown; error?: ErrorRecord }
  | { kind: 'deliver'; channel: number; message: MessageRecord }
  | { kind: 'cancel'; channel: number; consumerTag: string }
  | { kind: 'return'; channel: number; message: ReturnedRecord }
  | { kind: 'channel-close'; channel: number; error?: ErrorRecord }
  | { kind: 'send-failed'; channel: number; error: ErrorRecord }
  | { kind: 'close'; error?: ErrorRecord }
  | { kind: 'blocked'; reason: string }
  | { kind: 'unblocked' }
  | { kind: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string; fields?: Record<string, unknown> }
  | { kind: 'trace'; direction: 'in' | 'out'; channel: number; description: string };
