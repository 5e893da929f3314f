import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { Decimal, TypedValue, typed } from './field-value.js';
import { decodeBasicPropertiesBytes, encodeBasicPropertiesBytes } from './properties-bytes.js';

describe('properties bytes', () => {
  it('round-trip through structured cloning', () => {
    const properties = {
      contentType: 'application/json',
      deliveryMode: 2,
      priority: 7,
      timestamp: new Date(1_700_000_000_000),
      headers: { price: new Decimal(2, 1999), small: typed('b', -3), big: 2n ** 60n, nested: { list: [1, 'two', null] } },
    };
    const bytes = encodeBasicPropertiesBytes(properties);
    const decoded = decodeBasicPropertiesBytes(structuredClone(bytes, { transfer: [bytes.buffer] }));

    expect(decoded.contentType).toBe('application/json');
    expect(decoded.deliveryMode).toBe(2);
    expect(decoded.priority).toBe(7);
    expect(decoded.timestamp).toEqual(new Date(1_700_000_000_000));
    expect(decoded.headers?.price).toEqual(new Decimal(2, 1999));
    expect(decoded.headers?.small).toBe(-3);
    expect(decoded.headers?.big).toBe(2n ** 60n);
    expect(decoded.headers?.nested).toEqual({ list: [1, 'two', null] });
  });

  it('return an exact, transferable buffer each time', () => {
    const first = encodeBasicPropertiesBytes({ appId: 'a' });
    const second = encodeBasicPropertiesBytes({});
    expect(first.byteOffset).toBe(0);
    expect(first.buffer.byteLength).toBe(first.length);
    expect([...second]).toEqual([0, 0]);
    expect(first.buffer).not.toBe(second.buffer);
    expect(decodeBasicPropertiesBytes(first)).toEqual({ appId: 'a' });
    expect(decodeBasicPropertiesBytes(second)).toEqual({});
  });

  it('throw for values a publish rejects', () => {
    expect(() => encodeBasicPropertiesBytes({ appId: 'x'.repeat(256) })).toThrow(InvalidArgumentError);
    expect(() => encodeBasicPropertiesBytes({ headers: { bad: new TypedValue('b', 1000) } })).toThrow(InvalidArgumentError);
    expect([...encodeBasicPropertiesBytes({})]).toEqual([0, 0]);
  });
});
