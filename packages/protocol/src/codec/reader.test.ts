import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { FrameError } from '../errors.js';
import { Reader, decodeUtf8 } from './reader.js';
import { Writer } from './writer.js';

function shortstrBytes(...values: string[]): Uint8Array {
  const writer = new Writer();
  writer.begin();
  for (const value of values) writer.shortstr(value);
  return writer.finish().slice();
}

describe('Reader.shortstr', () => {
  test('strings sharing a cache slot stay distinct', () => {
    // Same length, first and last byte, so both map to one cache slot.
    const bytes = shortstrBytes('axb', 'ayb', 'axb', 'ayb');
    const reader = new Reader(bytes);
    expect([reader.shortstr(), reader.shortstr(), reader.shortstr(), reader.shortstr()]).toEqual(['axb', 'ayb', 'axb', 'ayb']);
  });

  test('repeated string decodes the same', () => {
    const reader = new Reader(shortstrBytes('routing.key', 'routing.key'));
    expect(reader.shortstr()).toBe('routing.key');
    expect(reader.shortstr()).toBe('routing.key');
  });

  test('cache holds no view of the input', () => {
    const bytes = shortstrBytes('mutable');
    expect(new Reader(bytes).shortstr()).toBe('mutable');
    bytes[1] = 0x4d; // 'M'
    expect(new Reader(bytes).shortstr()).toBe('Mutable');
  });

  test('cache holds no view of a Buffer input', () => {
    // Buffer's slice() returns a view, unlike Uint8Array's, so the cache must copy some other way.
    const bytes = Buffer.from(shortstrBytes('buffered'));
    expect(new Reader(bytes).shortstr()).toBe('buffered');
    bytes[4] = 0x46; // 'F'
    expect(new Reader(bytes).shortstr()).toBe('bufFered');
  });

  test('strings of every cached length stay distinct', () => {
    // Same first and last four bytes and length, different middles, for lengths 1 to 48.
    const values: string[] = [];
    for (let length = 1; length <= 48; length++) {
      for (const middle of 'abcd') values.push(middle.padStart(Math.ceil(length / 2), 'x').padEnd(length, 'y'));
    }
    const bytes = shortstrBytes(...values, ...values);
    const reader = new Reader(bytes);
    const decoded = [...values, ...values].map(() => reader.shortstr());
    expect(decoded).toEqual([...values, ...values]);
  });

  test('any string decodes the same on every read', () => {
    const shortText = fc.string({ unit: 'binary', maxLength: 80 }).filter((text) => new TextEncoder().encode(text).length <= 255);
    fc.assert(
      fc.property(fc.array(shortText, { maxLength: 20 }), (values) => {
        const reader = new Reader(shortstrBytes(...values, ...values, ...values));
        const decoded = [...values, ...values, ...values].map(() => reader.shortstr());
        expect(decoded).toEqual([...values, ...values, ...values]);
      }),
    );
  });

  test('multibyte and long strings decode', () => {
    const long = 'é'.repeat(100);
    const reader = new Reader(shortstrBytes('€uro', long, ''));
    expect(reader.shortstr()).toBe('€uro');
    expect(reader.shortstr()).toBe(long);
    expect(reader.shortstr()).toBe('');
  });
});

describe('decodeUtf8', () => {
  test('ASCII of every length up to the limit', () => {
    for (let length = 0; length <= 70; length++) {
      const text = Array.from({ length }, (_, index) => String.fromCharCode(0x21 + ((index * 7) % 94))).join('');
      const bytes = new TextEncoder().encode(`..${text}..`);
      expect(decodeUtf8(bytes, 2, 2 + length)).toBe(text);
    }
  });

  test('multibyte text and invalid bytes', () => {
    const bytes = new TextEncoder().encode('grüße €');
    expect(decodeUtf8(bytes, 0, bytes.length)).toBe('grüße €');
    expect(decodeUtf8(new Uint8Array([0x61, 0xff, 0x62]), 0, 3)).toBe('a\ufffdb');
  });
});

describe('Reader bounds', () => {
  function payloadInChunk(): Uint8Array {
    // A 6-byte payload at offset 3, followed by bytes that belong to the next frame.
    return new Uint8Array([9, 9, 9, 0, 1, 0, 0, 0, 2, 7, 7, 7, 7, 7, 7, 7, 7]);
  }

  test('reads stop at end even when bytes follow', () => {
    const reader = new Reader(payloadInChunk(), 3, 9);
    expect(reader.uint16()).toBe(1);
    expect(reader.uint32()).toBe(2);
    expect(reader.remaining).toBe(0);

    let error: unknown;
    try {
      reader.uint8();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FrameError);
    expect((error as FrameError).code).toBe('FRAME_TRUNCATED');
  });

  test('error offset counts from the payload start', () => {
    const reader = new Reader(payloadInChunk(), 3, 9);
    reader.uint32();
    expect(reader.position).toBe(4);
    expect(() => reader.uint32()).toThrow('needed 4 bytes at offset 4, but only 2 remain');
  });

  test('reset reads other bytes and positions', () => {
    const first = new Uint8Array([0, 0, 0, 5]);
    const second = new Uint8Array([0xff, 0xff, 0x12, 0x34, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]);
    const reader = new Reader(first);
    expect(reader.uint32()).toBe(5);

    reader.reset(second, 2, 4);
    expect(reader.bytes).toBe(second);
    expect(reader.position).toBe(0);
    expect(reader.uint16()).toBe(0x1234);
    expect(() => reader.uint8()).toThrow(FrameError);

    reader.reset(second, 4);
    expect(reader.float64()).toBe(1);
    reader.reset(second.subarray(2), 0, 2);
    expect(reader.int16()).toBe(0x1234);
  });
});
