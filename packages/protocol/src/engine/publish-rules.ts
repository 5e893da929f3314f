import { InvalidArgumentError } from '../errors.js';
import type { BasicProperties } from '../generated/properties.js';

const textEncoder = new TextEncoder();

/**
 * Returns a publish body as bytes: a string is encoded as UTF-8, and bytes are returned as
 * they are.
 * @throws InvalidArgumentError `VALUE_TYPE_INVALID` for anything else.
 */
export function publishBody(body: Uint8Array | string): Uint8Array {
  if (typeof body === 'string') return textEncoder.encode(body);
  if (body instanceof Uint8Array) return body;

  throw new InvalidArgumentError(`basic.publish body: expected a Uint8Array (such as a Node.js buffer) or a string, got ${typeof body}`, 'VALUE_TYPE_INVALID');
}

/**
 * Rejects a `deliveryMode` other than 1 or 2 before anything is sent, because RabbitMQ closes the
 * channel for any other value.
 * @throws InvalidArgumentError `VALUE_OUT_OF_RANGE`.
 */
export function validateDeliveryMode(properties: BasicProperties): void {
  const deliveryMode = properties.deliveryMode;
  if (deliveryMode === undefined || deliveryMode === 1 || deliveryMode === 2) return;

  throw new InvalidArgumentError(
    `basic.publish property deliveryMode: expected 1 (transient) or 2 (persistent), got ${String(deliveryMode)}`,
    'VALUE_OUT_OF_RANGE',
  );
}
