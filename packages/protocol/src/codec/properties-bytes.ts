import { type BasicProperties, type DecodedBasicProperties, readBasicProperties, writeBasicProperties } from '../generated/properties.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';

// Small slabs: property blocks are short, and each result is copied out of the slab anyway.
const writer = new Writer(4096);

/**
 * Encodes message properties as the property flags and list of a content header, in a new
 * `ArrayBuffer` of their exact size. The result can be transferred to another thread and read
 * back with `decodeBasicPropertiesBytes`, which keeps what structured cloning would lose, such
 * as `Decimal` and `typed()` header values.
 *
 * @throws InvalidArgumentError for a value that cannot be encoded, exactly as a publish would.
 */
export function encodeBasicPropertiesBytes(properties: BasicProperties): Uint8Array {
  writer.begin();
  writeBasicProperties(writer, properties);
  return writer.finish().slice();
}

/**
 * Decodes properties encoded by `encodeBasicPropertiesBytes`. Byte-string header values are
 * views of `bytes`.
 *
 * @throws FrameError when `bytes` is not a valid property block.
 */
export function decodeBasicPropertiesBytes(bytes: Uint8Array): DecodedBasicProperties {
  return readBasicProperties(new Reader(bytes));
}
