import { describe, expect, test } from 'vitest';
import { Reader } from './reader.js';
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

  test('multibyte and long strings decode', () => {
    const long = 'é'.repeat(100);
    const reader = new Reader(shortstrBytes('€uro', long, ''));
    expect(reader.shortstr()).toBe('€uro');
    expect(reader.shortstr()).toBe(long);
    expect(reader.shortstr()).toBe('');
  });
});
