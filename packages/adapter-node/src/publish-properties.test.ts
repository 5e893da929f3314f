import { Decimal, type BasicProperties, FrameError, encodeBasicPropertiesBytes, typed } from '@warren/protocol';
import { describe, expect, test } from 'vitest';
import { decodePublishProperties } from './publish-properties.js';

/** Properties whose headers use every field type, several of them only reachable through `typed()`. */
const richProperties: BasicProperties = {
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  headers: {
    int8: typed('b', -5),
    uint8: typed('B', 200),
    int16: typed('s', -300),
    uint16: typed('u', 60000),
    int32: 7,
    uint32: typed('i', 4_000_000_000),
    smallInt64: typed('l', 5),
    bigInt64: 2n ** 60n,
    float: typed('f', 1.5),
    wholeDouble: typed('d', 3),
    double: 2.25,
    decimal: new Decimal(2, 12345),
    text: 'héllo',
    invalidUtf8: typed('S', new Uint8Array([0xff, 0xfe])),
    bytes: new Uint8Array([1, 2, 3]),
    timestamp: new Date(1_700_000_000_000),
    farTimestamp: typed('T', 2n ** 60n),
    flag: true,
    nothing: null,
    nested: { level: typed('s', 2), list: [typed('b', 1), 'two', [typed('f', 0.5)]] },
    ['__proto__']: typed('s', 1),
  },
  deliveryMode: 2,
  priority: 3,
  correlationId: 'correlation',
  timestamp: new Date(1_600_000_000_000),
  appId: 'tests',
};

describe('decodePublishProperties', () => {
  test('publishes as the same bytes', () => {
    const bytes = encodeBasicPropertiesBytes(richProperties);

    const decoded = decodePublishProperties(bytes);

    expect(encodeBasicPropertiesBytes(decoded)).toEqual(bytes);
  });

  test('keeps fields before and after headers', () => {
    const decoded = decodePublishProperties(encodeBasicPropertiesBytes(richProperties));

    expect(decoded.contentType).toBe('application/json');
    expect(decoded.contentEncoding).toBe('utf-8');
    expect(decoded.deliveryMode).toBe(2);
    expect(decoded.priority).toBe(3);
    expect(decoded.correlationId).toBe('correlation');
    expect(decoded.timestamp).toEqual(new Date(1_600_000_000_000));
    expect(decoded.appId).toBe('tests');
  });

  test('keeps __proto__ as an own header', () => {
    const decoded = decodePublishProperties(encodeBasicPropertiesBytes(richProperties));

    expect(Object.getPrototypeOf(decoded.headers)).toBe(Object.prototype);
    expect(Object.keys(decoded.headers!)).toContain('__proto__');
  });

  test('returns properties without headers as decoded', () => {
    const bytes = encodeBasicPropertiesBytes({ messageId: 'm-1', expiration: '60000' });

    expect(decodePublishProperties(bytes)).toEqual({ messageId: 'm-1', expiration: '60000' });
  });

  test('rejects a truncated block', () => {
    const bytes = encodeBasicPropertiesBytes(richProperties);

    expect(() => decodePublishProperties(bytes.subarray(0, bytes.length - 3))).toThrow(FrameError);
  });
});
