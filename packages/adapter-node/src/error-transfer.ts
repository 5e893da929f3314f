/**
 * Errors that cross threads with the returned message of an `UnroutableError` intact: the
 * channel handles and the blocking adapter's I/O thread send them.
 */
import {
  type AmqpError,
  type BasicProperties,
  decodeBasicPropertiesBytes,
  encodeBasicPropertiesBytes,
  errorFromRecord,
  type ErrorRecord,
} from '@warren/protocol';

/**
 * Makes the returned message of an `UnroutableError` record cheap and faithful to clone. Its
 * body becomes an exact-size copy, because it may be a view of a larger buffer that cloning
 * would copy whole. Its properties become their encoding, because cloning would turn
 * `Decimal` values into plain objects, and `ChannelHandle` decodes them again.
 */
export function prepareReturnedForTransfer(record: ErrorRecord, transfer: ArrayBuffer[]): void {
  if (record.name !== 'UnroutableError' || typeof record.returned !== 'object' || record.returned === null) return;

  const returned = record.returned as { body?: unknown; properties?: unknown };
  const prepared: Record<string, unknown> = { ...returned };
  if (returned.body instanceof Uint8Array) {
    const body = new Uint8Array(returned.body);
    prepared.body = body;
    transfer.push(body.buffer);
  }
  if (typeof returned.properties === 'object' && returned.properties !== null) {
    try {
      const properties = encodeBasicPropertiesBytes(returned.properties as BasicProperties);
      prepared.properties = properties;
      transfer.push(properties.buffer as ArrayBuffer);
    } catch {
      // Decoded properties encode again, but if some did not, the worker gets the message without them.
      delete prepared.properties;
    }
  }
  record.returned = prepared;
}

/**
 * Rebuilds an error whose record `prepareReturnedForTransfer` prepared on another thread. The
 * returned message of an `UnroutableError` arrives with its properties encoded, and is decoded
 * here, with its body as a `Buffer`.
 */
export function rebuildError(record: ErrorRecord): AmqpError {
  const returned = record.returned as { body?: unknown; properties?: unknown } | undefined;
  if (returned !== undefined && returned !== null) {
    if (returned.properties instanceof Uint8Array) returned.properties = decodeBasicPropertiesBytes(returned.properties);
    if (returned.body instanceof Uint8Array) returned.body = Buffer.from(returned.body.buffer, returned.body.byteOffset, returned.body.byteLength);
  }
  return errorFromRecord(record) as AmqpError;
}
