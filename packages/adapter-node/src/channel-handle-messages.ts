/**
 * Messages that cross the `MessagePort` between a `ChannelHandle` on a worker thread and the
 * `ChannelHandleDispatcher` on the thread that owns the connection.
 *
 * Requests go from the handle to the dispatcher, one plain object each. Publish bodies and
 * property blocks travel as transferred `ArrayBuffer`s of their exact size. Replies go back:
 * `open` once, as the first message, then `resolved`, `rejected` and finally `closed`.
 */
import type { ErrorRecord } from '@warren/protocol';

export interface AckRequest {
  method: 'basic.ack';
  /** Positive safe integer, unique per handle, that the reply carries back. */
  id: number;
  deliveryTag: number;
  multiple: boolean;
}

export interface NackRequest {
  method: 'basic.nack';
  id: number;
  deliveryTag: number;
  multiple: boolean;
  requeue: boolean;
}

export interface RejectRequest {
  method: 'basic.reject';
  id: number;
  deliveryTag: number;
  requeue: boolean;
}

export interface PublishRequest {
  method: 'basic.publish';
  id: number;
  exchange: string;
  routingKey: string;
  body: Uint8Array;
  /** Property block from `encodeBasicPropertiesBytes`, or null for no properties. */
  properties: Uint8Array | null;
  mandatory: boolean;
}

export type ChannelHandleRequest = AckRequest | NackRequest | RejectRequest | PublishRequest;

/** The first message on a port from `createHandle()`, queued before the port is handed out. */
export interface OpenReply {
  type: 'open';
  channelId: number;
}

/** The requests with these ids were carried out. */
export interface ResolvedReply {
  type: 'resolved';
  ids: number[];
}

/** The request with this id failed. `id` is 0 when the request was too malformed to have one. */
export interface RejectedReply {
  type: 'rejected';
  id: number;
  error: ErrorRecord;
}

/** The connection has closed; the dispatcher closes the port right after this message. */
export interface ClosedReply {
  type: 'closed';
  error: ErrorRecord;
}

export type ChannelHandleReply = OpenReply | ResolvedReply | RejectedReply | ClosedReply;

/** Fields of each request with the type each must have, after `method` and `id`. */
const REQUEST_FIELDS: Record<ChannelHandleRequest['method'], readonly (readonly [string, FieldKind])[]> = {
  'basic.ack': [
    ['deliveryTag', 'number'],
    ['multiple', 'boolean'],
  ],
  'basic.nack': [
    ['deliveryTag', 'number'],
    ['multiple', 'boolean'],
    ['requeue', 'boolean'],
  ],
  'basic.reject': [
    ['deliveryTag', 'number'],
    ['requeue', 'boolean'],
  ],
  'basic.publish': [
    ['exchange', 'string'],
    ['routingKey', 'string'],
    ['body', 'bytes'],
    ['properties', 'bytes or null'],
    ['mandatory', 'boolean'],
  ],
};

type FieldKind = 'number' | 'boolean' | 'string' | 'bytes' | 'bytes or null';

/**
 * Returns the id of a message that has a valid one, or 0. A positive safe integer is valid.
 */
export function requestIdOf(message: unknown): number {
  if (typeof message !== 'object' || message === null) return 0;
  const id = (message as { id?: unknown }).id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : 0;
}

/**
 * Checks the shape of a message received on a channel handle's port. Returns undefined for a
 * valid request, or a sentence that describes what is wrong. Field values are not
 * range-checked here, because the channel method that runs the request checks them, as it does
 * for its own callers.
 */
export function findRequestProblem(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return `expected a request object, got ${describeType(message)}`;
  }
  const fields = message as Record<string, unknown>;
  const method = fields.method;
  if (typeof method !== 'string' || !Object.hasOwn(REQUEST_FIELDS, method)) {
    return `unknown method ${describeValue(method)}; expected basic.ack, basic.nack, basic.reject or basic.publish`;
  }
  if (requestIdOf(message) === 0) {
    return `${method} request: id must be a positive safe integer, got ${describeValue(fields.id)}`;
  }

  for (const [name, kind] of REQUEST_FIELDS[method as ChannelHandleRequest['method']]) {
    const value = fields[name];
    if (!hasKind(value, kind)) return `${method} request: ${name} must be ${article(kind)}, got ${describeType(value)}`;
  }
  return undefined;
}

function hasKind(value: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'bytes':
      return value instanceof Uint8Array;
    case 'bytes or null':
      return value === null || value instanceof Uint8Array;
    default:
      return typeof value === kind;
  }
}

function article(kind: FieldKind): string {
  switch (kind) {
    case 'bytes':
      return 'a Uint8Array';
    case 'bytes or null':
      return 'a Uint8Array or null';
    default:
      return `a ${kind}`;
  }
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'a Uint8Array';
  return typeof value;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'number') return String(value);
  return describeType(value);
}
