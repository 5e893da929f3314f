import { describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { Writer } from './writer.js';

function written(write: (writer: Writer) => void): number[] {
  const writer = new Writer(16);
  writer.begin();
  write(writer);
  return [...writer.finish()];
}

describe('Writer integer ranges', () => {
  test.each([
    ['uint8', 255, [255]],
    ['int8', -128, [0x80]],
    ['uint16', 65535, [0xff, 0xff]],
    ['int16', -32768, [0x80, 0]],
    ['uint32', 4294967295, [0xff, 0xff, 0xff, 0xff]],
    ['int32', -2147483648, [0x80, 0, 0, 0]],
    ['uint64', Number.MAX_SAFE_INTEGER, [0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
    ['uint64', 2n ** 64n - 1n, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
    ['int64', -1, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
    ['int64', -(2n ** 63n), [0x80, 0, 0, 0, 0, 0, 0, 0]],
  ] as const)('%s writes %s', (method, value, bytes) => {
    expect(written((writer) => (writer[method] as (value: number | bigint) => void)(value))).toEqual(bytes);
  });

  test.each([
    ['uint8', 256],
    ['uint8', -1],
    ['uint8', 1.5],
    ['int8', 128],
    ['uint16', 70000],
    ['int16', 32768],
    ['uint32', 2 ** 32],
    ['uint32', Number.NaN],
    ['int32', 2 ** 31],
    ['uint64', -1],
    ['uint64', 2 ** 64],
    ['uint64', 0.5],
    ['uint64', 2n ** 64n],
    ['int64', 0.5],
    ['int64', 2n ** 63n],
  ] as const)('%s rejects %s without writing', (method, value) => {
    const writer = new Writer(16);
    writer.begin();
    expect(() => (writer[method] as (value: number | bigint) => void)(value)).toThrow(InvalidArgumentError);
    writer.begin();
    expect(writer.finish().length).toBe(0);
  });

  test('error names the value and the width', () => {
    const writer = new Writer();
    writer.begin();
    expect(() => writer.uint16(70000)).toThrow('value 70000 does not fit an unsigned 16-bit integer field');
  });
});

describe('Writer messages', () => {
  test('finished views survive a slab change', () => {
    const writer = new Writer(8);
    writer.begin();
    writer.uint32(0x01020304);
    const first = writer.finish();
    writer.begin();
    writer.bytes(new Uint8Array(20).fill(7));
    const second = writer.finish();
    expect([...first]).toEqual([1, 2, 3, 4]);
    expect(second.length).toBe(20);
    expect(second.every((byte) => byte === 7)).toBe(true);
  });

  test('position survives a slab change', () => {
    const writer = new Writer(8);
    writer.begin();
    writer.uint16(1);
    const position = writer.position;
    writer.uint32(0);
    writer.bytes(new Uint8Array(32));
    writer.patchUint32(position, 0xaabbccdd);
    expect([...writer.finish().subarray(2, 6)]).toEqual([0xaa, 0xbb, 0xcc, 0xdd]);
  });
});

describe('Writer field names', () => {
  test('range error names the field', () => {
    const writer = new Writer();
    writer.begin();
    expect(() => writer.uint16(70000, 'basic.qos prefetchCount')).toThrow(
      'basic.qos prefetchCount: value 70000 does not fit an unsigned 16-bit integer field',
    );
  });

  test('number given as string is a type error', () => {
    const writer = new Writer();
    writer.begin();
    expect(() => writer.uint8('2' as unknown as number, 'property deliveryMode')).toThrow(
      expect.objectContaining({ code: 'VALUE_TYPE_INVALID', message: 'property deliveryMode: expected a number, got string "2"' }),
    );
  });

  test('shortstr rejects a number', () => {
    const writer = new Writer();
    writer.begin();
    expect(() => writer.shortstr(60000 as unknown as string, 'property expiration')).toThrow(
      expect.objectContaining({ code: 'VALUE_TYPE_INVALID', message: 'property expiration: expected a string, got number' }),
    );
  });

  test('longstr rejects an object', () => {
    const writer = new Writer();
    writer.begin();
    expect(() => writer.longstr({} as unknown as string)).toThrow(expect.objectContaining({ code: 'VALUE_TYPE_INVALID' }));
  });
});

describe('Writer slab reuse', () => {
  /** Writes `count` messages of four bytes into a writer with 8-byte slabs, two per slab. */
  function writeMessages(writer: Writer, count: number, first = 0): Uint8Array[] {
    const messages: Uint8Array[] = [];
    for (let index = 0; index < count; index++) {
      writer.begin();
      writer.uint32(first + index);
      messages.push(writer.finish());
    }
    return messages;
  }

  test('reuses a slab once all its views are released', () => {
    const writer = new Writer(8);
    const [first, second] = writeMessages(writer, 2);
    writer.release(first!);
    writer.release(second!);
    const [third, fourth, fifth] = writeMessages(writer, 3, 2);

    expect(third!.buffer).not.toBe(first!.buffer);
    expect(fourth!.buffer).toBe(third!.buffer);
    expect(fifth!.buffer).toBe(first!.buffer);
  });

  test('reuses a replaced slab after its last release', () => {
    const writer = new Writer(8);
    const [first, second] = writeMessages(writer, 2);
    writer.release(first!);
    const [third, fourth] = writeMessages(writer, 2, 2);
    writer.release(second!);
    const [fifth] = writeMessages(writer, 1, 4);

    expect(third!.buffer).not.toBe(first!.buffer);
    expect(fourth!.buffer).toBe(third!.buffer);
    expect(fifth!.buffer).toBe(first!.buffer);
  });

  test('keeps a slab with an unreleased view', () => {
    const writer = new Writer(8);
    const [first, second] = writeMessages(writer, 2);
    writer.release(first!);
    const later = writeMessages(writer, 6, 2);

    expect(later.every((message) => message.buffer !== first!.buffer)).toBe(true);
    expect(new DataView(second!.buffer, second!.byteOffset).getUint32(0)).toBe(1);
  });

  test('releases of parts add up', () => {
    const writer = new Writer(8);
    const [first, second] = writeMessages(writer, 2);
    const both = new Uint8Array(first!.buffer, first!.byteOffset, first!.length + second!.length);
    writer.release(both.subarray(0, 3));
    writer.release(both.subarray(3));

    expect(writeMessages(writer, 3, 2)[2]!.buffer).toBe(first!.buffer);
  });

  test('failed slab allocation changes nothing', () => {
    const writer = new Writer(16);
    const [first] = writeMessages(writer, 1);
    writer.release(first!);
    const large = new Uint8Array(100);
    const original = globalThis.Uint8Array;
    globalThis.Uint8Array = new Proxy(original, {
      construct(target, args: unknown[], newTarget) {
        if (typeof args[0] === 'number' && args[0] > 16) throw new RangeError('out of memory');
        return Reflect.construct(target, args, newTarget) as object;
      },
    });
    try {
      writer.begin();
      expect(() => writer.bytes(large)).toThrow(RangeError);
    } finally {
      globalThis.Uint8Array = original;
    }
    const [kept] = writeMessages(writer, 1, 7);
    writeMessages(writer, 8, 100);

    expect(new DataView(kept!.buffer, kept!.byteOffset).getUint32(0)).toBe(7);
  });

  test('ignores chunks it did not hand out', () => {
    const writer = new Writer(8);
    const [first] = writeMessages(writer, 1);
    writer.release(new Uint8Array(100));
    writer.release(first!);
    writer.release(first!.subarray(0, 0));

    expect(writeMessages(writer, 4, 1).map((message) => new DataView(message.buffer, message.byteOffset).getUint32(0))).toEqual([1, 2, 3, 4]);
  });

  test('never reuses a slab without release', () => {
    const writer = new Writer(8);
    const buffers = new Set(writeMessages(writer, 20).map((message) => message.buffer));

    expect(buffers.size).toBe(10);
  });
});

