import { describe, expect, test } from 'vitest';
import { findRequestProblem, requestIdOf } from './channel-handle-messages.js';

const body = new Uint8Array([1, 2, 3]);

describe('findRequestProblem', () => {
  test.each([
    ['ack', { method: 'basic.ack', id: 1, deliveryTag: 7, multiple: false }],
    ['nack', { method: 'basic.nack', id: 2, deliveryTag: 7, multiple: true, requeue: false }],
    ['reject', { method: 'basic.reject', id: 3, deliveryTag: 7, requeue: true }],
    ['publish', { method: 'basic.publish', id: 4, exchange: '', routingKey: 'q', body, properties: null, mandatory: false }],
    ['publish with properties', { method: 'basic.publish', id: 5, exchange: 'x', routingKey: '', body, properties: new Uint8Array([0, 0]), mandatory: true }],
  ])('accepts a valid %s', (_name, message) => {
    expect(findRequestProblem(message)).toBeUndefined();
  });

  test.each([
    ['null', null, 'expected a request object, got null'],
    ['a string', 'basic.ack', 'expected a request object, got string'],
    ['an array', ['basic.ack', 1, 7, false], 'expected a request object, got an array'],
    ['no method', { id: 1 }, 'unknown method undefined'],
    ['an unknown method', { method: 'queue.delete', id: 1 }, 'unknown method "queue.delete"'],
    ['an inherited method name', { method: 'toString', id: 1 }, 'unknown method "toString"'],
    ['a missing id', { method: 'basic.ack', deliveryTag: 7, multiple: false }, 'basic.ack request: id must be a positive safe integer, got undefined'],
    ['a zero id', { method: 'basic.ack', id: 0, deliveryTag: 7, multiple: false }, 'id must be a positive safe integer, got 0'],
    ['a fractional id', { method: 'basic.ack', id: 1.5, deliveryTag: 7, multiple: false }, 'id must be a positive safe integer, got 1.5'],
    ['a string delivery tag', { method: 'basic.ack', id: 1, deliveryTag: '7', multiple: false }, 'basic.ack request: deliveryTag must be a number, got string'],
    ['a missing multiple', { method: 'basic.nack', id: 1, deliveryTag: 7, requeue: true }, 'basic.nack request: multiple must be a boolean, got undefined'],
    ['a numeric requeue', { method: 'basic.reject', id: 1, deliveryTag: 7, requeue: 1 }, 'basic.reject request: requeue must be a boolean, got number'],
    ['a numeric exchange', { method: 'basic.publish', id: 1, exchange: 5, routingKey: 'q', body, properties: null, mandatory: false }, 'exchange must be a string, got number'],
    ['a string body', { method: 'basic.publish', id: 1, exchange: '', routingKey: 'q', body: 'text', properties: null, mandatory: false }, 'body must be a Uint8Array, got string'],
    ['a missing properties', { method: 'basic.publish', id: 1, exchange: '', routingKey: 'q', body, mandatory: false }, 'properties must be a Uint8Array or null, got undefined'],
    ['an object properties', { method: 'basic.publish', id: 1, exchange: '', routingKey: 'q', body, properties: {}, mandatory: false }, 'properties must be a Uint8Array or null, got object'],
  ])('rejects %s', (_name, message, expected) => {
    expect(findRequestProblem(message)).toContain(expected);
  });
});

describe('requestIdOf', () => {
  test('returns a valid id', () => {
    expect(requestIdOf({ id: 12 })).toBe(12);
  });

  test.each([null, 'text', {}, { id: -1 }, { id: 2 ** 53 }, { id: '3' }])('returns 0 for %j', (message) => {
    expect(requestIdOf(message)).toBe(0);
  });
});
