import { describe, expect, test } from 'vitest';
import { readTable } from '../codec/field-table.js';
import { Reader } from '../codec/reader.js';
import { amqplainMechanism, externalMechanism, plainMechanism } from './sasl.js';

const textEncoder = new TextEncoder();

function bytes(...parts: (number | string)[]): Uint8Array {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === 'number') out.push(part);
    else out.push(...textEncoder.encode(part));
  }
  return new Uint8Array(out);
}

/** Puts back the 4-byte size that AMQPLAIN leaves out, so the ordinary table reader can parse it. */
function withSizeField(body: Uint8Array): Uint8Array {
  const table = new Uint8Array(4 + body.length);
  new DataView(table.buffer).setUint32(0, body.length);
  table.set(body, 4);
  return table;
}

describe('plainMechanism', () => {
  test('response is NUL, user, NUL, password', () => {
    const mechanism = plainMechanism('guest', 'secret');

    expect(mechanism.name).toBe('PLAIN');
    expect(mechanism.initialResponse()).toEqual(bytes(0, 'guest', 0, 'secret'));
  });

  test('non-ASCII credentials are UTF-8', () => {
    expect(plainMechanism('jörg', 'pässwort').initialResponse()).toEqual(bytes(0, 'jörg', 0, 'pässwort'));
  });
});

describe('amqplainMechanism', () => {
  test('response is a table body without its size', () => {
    const mechanism = amqplainMechanism('guest', 'secret');

    expect(mechanism.name).toBe('AMQPLAIN');
    // Each entry: key length, key, type tag 'S' (long string), 32-bit value length, value.
    expect(mechanism.initialResponse()).toEqual(
      bytes(5, 'LOGIN', 'S', 0, 0, 0, 5, 'guest', 8, 'PASSWORD', 'S', 0, 0, 0, 6, 'secret'),
    );
  });

  test('response parses as LOGIN and PASSWORD', () => {
    const response = amqplainMechanism('jörg', 'pä:ss\u0000wort').initialResponse();

    expect(readTable(new Reader(withSizeField(response)))).toEqual({ LOGIN: 'jörg', PASSWORD: 'pä:ss\u0000wort' });
  });

  test('empty credentials', () => {
    expect(amqplainMechanism('', '').initialResponse()).toEqual(bytes(5, 'LOGIN', 'S', 0, 0, 0, 0, 8, 'PASSWORD', 'S', 0, 0, 0, 0));
  });

  test('each call returns a fresh response', () => {
    const mechanism = amqplainMechanism('guest', 'guest');

    const first = mechanism.initialResponse();
    const second = mechanism.initialResponse();

    expect(second).toEqual(first);
    expect(second.buffer).not.toBe(first.buffer);
  });
});

describe('externalMechanism', () => {
  test('response is empty', () => {
    const mechanism = externalMechanism();

    expect(mechanism.name).toBe('EXTERNAL');
    expect(mechanism.initialResponse()).toEqual(new Uint8Array(0));
    expect(mechanism.challenge).toBeUndefined();
  });
});
