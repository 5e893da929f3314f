/** Bytes prepared to be transferred to another thread with `postMessage`. */
import { publishBody } from '@warren/protocol';

/**
 * Copies a publish body into a new `ArrayBuffer` of its exact size, which can be transferred. A
 * string is encoded as UTF-8. The caller's buffer is never transferred, which would detach it,
 * nor posted as a view, which would clone the whole buffer under it.
 * @throws InvalidArgumentError `VALUE_TYPE_INVALID` for a body that is neither bytes nor a string.
 */
export function ownedCopy(body: Uint8Array | string): Uint8Array<ArrayBuffer> {
  const bytes = publishBody(body);
  // An encoded string already fills a buffer of its own.
  return typeof body === 'string' ? ownedBytes(bytes) : new Uint8Array(bytes);
}

/**
 * Returns `bytes` when they fill a whole `ArrayBuffer` of their own, else a copy that does, so
 * that transferring the result moves only these bytes. Transferring detaches the buffer, so use
 * it only on memory that nothing else reads afterwards.
 */
export function ownedBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  // An empty body may be a constant that every empty message shares, which must not be detached.
  if (bytes.byteLength === 0) return new Uint8Array(0);
  if (bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) {
    return bytes as Uint8Array<ArrayBuffer>;
  }
  return new Uint8Array(bytes);
}
