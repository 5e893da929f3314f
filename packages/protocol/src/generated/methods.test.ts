import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Decimal, type FieldTable, type FieldValue } from '../codec/field-value.js';
import { Reader } from '../codec/reader.js';
import { Writer } from '../codec/writer.js';
import { FrameError } from '../errors.js';
import { FRAME_END, FRAME_MIN_SIZE, FrameType, REPLY_CODE_NAMES, ReplyCode, isHardError } from './constants.js';
import * as methods from './methods.js';
import {
  type AnyMethod,
  BasicAck,
  BasicDeliver,
  BasicGet,
  BasicGetEmpty,
  BasicGetOk,
  BasicPublish,
  BasicRecover,
  BasicRecoverOk,
  ConfirmSelect,
  ConnectionBlocked,
  ConnectionClose,
  ConnectionOpen,
  ConnectionStartOk,
  ConnectionTune,
  ConnectionUnblocked,
  ConnectionUpdateSecret,
  ConnectionUpdateSecretOk,
  ExchangeDeclare,
  METHOD_FIELDS,
  METHOD_INFO,
  type MethodField,
  MethodId,
  type MethodInfo,
  QueueDeclare,
  QueueDeclareOk,
  QueueUnbind,
  TxSelect,
  decodeMethod,
  methodName,
} from './methods.js';

/** A generated method class, seen through the members that every one of them has. */
interface MethodClass extends MethodInfo {
  readonly name: string;
  new (): AnyMethod;
  from(fields: Record<string, unknown>): AnyMethod;
}

/** Every exported method class, found by shape rather than by reading METHOD_INFO. */
const METHOD_CLASSES = (Object.values(methods) as unknown[]).filter(
  (value): value is MethodClass =>
    typeof value === 'function' && 'decode' in value && 'methodName' in value,
);

const TRAILER = [0xde, 0xad, 0xbe, 0xef];

function encode(method: AnyMethod): Uint8Array {
  const writer = new Writer();
  writer.begin();
  method.encode(writer);
  return writer.finish().slice();
}

function bytes(...parts: (number | string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === 'number') out.push(part);
    else if (typeof part === 'string') out.push(...new TextEncoder().encode(part));
    else out.push(...part);
  }
  return new Uint8Array(out);
}

function catchError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, but none was thrown');
}

function expectFrameError(action: () => unknown, code: string, replyCode: number): FrameError {
  const error = catchError(action);
  expect(error).toBeInstanceOf(FrameError);
  expect((error as FrameError).code).toBe(code);
  expect((error as FrameError).replyCode).toBe(replyCode);
  return error as FrameError;
}

/**
 * Decodes `wire` three ways: whole; cut short at every length, which must throw
 * FRAME_TRUNCATED; and followed by trailing bytes, which must be left unread and unchanged.
 */
function expectDecodes(wire: Uint8Array, expected: AnyMethod): void {
  const whole = new Reader(wire);
  const decoded = decodeMethod(whole);
  expect(decoded).toStrictEqual(expected);
  expect(decoded.id).toBe(expected.id);
  expect(whole.offset).toBe(wire.length);

  for (let length = 0; length < wire.length; length++) {
    expectFrameError(() => decodeMethod(new Reader(wire.subarray(0, length))), 'FRAME_TRUNCATED', 502);
  }

  const padded = bytes([...wire], TRAILER);
  const reader = new Reader(padded);
  expect(decodeMethod(reader)).toStrictEqual(expected);
  expect(reader.offset).toBe(wire.length);
  expect([...padded.subarray(wire.length)]).toEqual(TRAILER);
}

// ---------------------------------------------------------------------------------------------
// Arbitraries built from METHOD_FIELDS

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

const shortString = fc.string({ unit: 'grapheme', maxLength: 40 }).filter((text) => utf8Length(text) <= 255);
const longString = fc.string({ unit: 'grapheme', maxLength: 300 });
const tableKey = fc.string({ unit: 'grapheme-ascii', maxLength: 20 });

// Values whose decoded form equals the original: a bigint inside the safe range would come back
// as a number, and an integer beyond it, written as a 64-bit integer, would come back as a bigint.
const { fieldTable } = fc.letrec<{ fieldValue: FieldValue; fieldTable: FieldTable }>((tie) => ({
  fieldValue: fc.oneof(
    { maxDepth: 3 },
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((value) => !Number.isInteger(value) || Number.isSafeInteger(value)),
    longString,
    fc.uint8Array({ maxLength: 16 }),
    fc.constant(null),
    fc.integer({ min: 0, max: 2 ** 40 }).map((seconds) => new Date(seconds * 1000)),
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer()).map(([scale, value]) => new Decimal(scale, value)),
    fc.array(tie('fieldValue'), { maxLength: 4 }),
    tie('fieldTable'),
  ),
  fieldTable: fc.dictionary(tableKey, tie('fieldValue'), { maxKeys: 4, noNullPrototype: true }),
}));

function fieldArbitrary(field: MethodField): fc.Arbitrary<unknown> {
  switch (field.type) {
    case 'bit':
      return fc.boolean();
    case 'octet':
      return fc.integer({ min: 0, max: 0xff });
    case 'short':
      return fc.integer({ min: 0, max: 0xffff });
    case 'long':
      return fc.integer({ min: 0, max: 0xffff_ffff });
    case 'longlong':
    case 'timestamp':
      return fc.maxSafeNat();
    case 'shortstr':
      return shortString;
    case 'longstr':
      return field.binary === true ? fc.uint8Array({ maxLength: 64 }) : longString;
    case 'table':
      return fieldTable;
  }
}

function methodArbitrary(methodClass: MethodClass): fc.Arbitrary<AnyMethod> {
  const fields = METHOD_FIELDS.get(methodClass.id) ?? [];
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of fields) record[field.name] = fieldArbitrary(field);
  return fc.record(record).map((values) => methodClass.from(values));
}

// ---------------------------------------------------------------------------------------------

describe('method statics', () => {
  it('finds every method class in METHOD_INFO', () => {
    // 60 methods in Debian's 0-9-1-rabbit XML and 4 RabbitMQ extensions.
    expect(METHOD_CLASSES).toHaveLength(64);
    expect(METHOD_INFO.size).toBe(64);
    expect(METHOD_FIELDS.size).toBe(64);
    expect(Object.keys(MethodId)).toHaveLength(64);
    for (const methodClass of METHOD_CLASSES) {
      expect(METHOD_INFO.get(methodClass.id)).toBe(methodClass);
      expect(MethodId[methodClass.name as keyof typeof MethodId]).toBe(methodClass.id);
    }
  });

  it('combines class and method ids', () => {
    for (const methodClass of METHOD_CLASSES) {
      expect(methodClass.id).toBe((methodClass.classId << 16) | methodClass.methodId);
      expect(new methodClass().id).toBe(methodClass.id);
    }
    expect(ConnectionBlocked.id).toBe((10 << 16) | 60);
    expect(QueueDeclare.id).toBe(3276810);
    expect(BasicAck.classId).toBe(60);
    expect(BasicAck.methodId).toBe(80);
  });

  it('names methods after the spec', () => {
    expect(QueueDeclare.methodName).toBe('queue.declare');
    expect(ConnectionUpdateSecretOk.methodName).toBe('connection.update-secret-ok');
    expect(methods.BasicRecoverAsync.methodName).toBe('basic.recover-async');
    expect(methodName(QueueDeclareOk.id)).toBe('queue.declare-ok');
    expect(methodName((60 << 16) | 99)).toBe('unknown method 60.99');
    expect(methodName((0xffff << 16) | 0xffff)).toBe('unknown method 65535.65535');
  });

  it('lists responses of synchronous requests', () => {
    expect(QueueDeclare.responses).toContain(QueueDeclareOk.id);
    expect(QueueDeclare.synchronous).toBe(true);
    expect(BasicGet.responses).toEqual([BasicGetOk.id, BasicGetEmpty.id]);
    expect(QueueDeclareOk.responses).toEqual([]);
    expect(ConnectionUpdateSecret.responses).toEqual([ConnectionUpdateSecretOk.id]);
    expect(ConnectionUpdateSecret.synchronous).toBe(true);
    expect(ConnectionUpdateSecretOk.synchronous).toBe(true);
  });

  it('makes basic.recover wait for recover-ok', () => {
    expect(BasicRecover.synchronous).toBe(true);
    expect(BasicRecover.responses).toEqual([BasicRecoverOk.id]);
    expect(methods.BasicRecoverAsync.synchronous).toBe(false);
  });

  it('marks content and asynchronous methods', () => {
    expect(BasicPublish.content).toBe(true);
    expect(BasicPublish.synchronous).toBe(false);
    expect(BasicDeliver.content).toBe(true);
    expect(BasicGetOk.content).toBe(true);
    expect(methods.BasicReturn.content).toBe(true);
    expect(BasicAck.content).toBe(false);
    expect(ConnectionBlocked.synchronous).toBe(false);
    expect(ConnectionUnblocked.synchronous).toBe(false);
    const contentMethods = METHOD_CLASSES.filter((methodClass) => methodClass.content);
    expect(contentMethods.map((methodClass) => methodClass.methodName).sort()).toEqual([
      'basic.deliver',
      'basic.get-ok',
      'basic.publish',
      'basic.return',
    ]);
  });

  it('detects no-wait fields', () => {
    expect(QueueDeclare.hasNowait).toBe(true);
    expect(QueueUnbind.hasNowait).toBe(false);
    expect(ConfirmSelect.hasNowait).toBe(true);
    expect(ExchangeDeclare.hasNowait).toBe(true);
    expect(BasicAck.hasNowait).toBe(false);
    for (const methodClass of METHOD_CLASSES) {
      const fields = METHOD_FIELDS.get(methodClass.id) ?? [];
      const named = fields.some((field) => field.name === 'noWait' || field.name === 'nowait');
      expect(methodClass.hasNowait, methodClass.methodName).toBe(named);
    }
  });
});

describe('method fields', () => {
  it('stores no reserved fields', () => {
    expect(Object.keys(new ConnectionOpen('/'))).toEqual(['virtualHost']);
    expect(Object.keys(new BasicGetEmpty())).toEqual([]);
    expect(Object.keys(new BasicPublish())).toEqual(['exchange', 'routingKey', 'mandatory', 'immediate']);
  });

  it('lists the properties of every method', () => {
    for (const methodClass of METHOD_CLASSES) {
      const names = (METHOD_FIELDS.get(methodClass.id) ?? []).map((field) => field.name);
      expect(Object.keys(new methodClass())).toEqual(names);
    }
  });

  it('fills defaults', () => {
    const declare = new QueueDeclare();
    expect(declare).toStrictEqual(
      QueueDeclare.from({
        queue: '',
        passive: false,
        durable: false,
        exclusive: false,
        autoDelete: false,
        noWait: false,
        arguments: {},
      }),
    );
    expect(new ConnectionStartOk().response).toStrictEqual(new Uint8Array(0));
    expect(new BasicAck().deliveryTag).toBe(0);
  });

  it('builds from named fields', () => {
    const declare = QueueDeclare.from({ queue: 'jobs', durable: true, arguments: { 'x-queue-type': 'quorum' } });
    expect(declare.queue).toBe('jobs');
    expect(declare.durable).toBe(true);
    expect(declare.passive).toBe(false);
    expect(declare.arguments).toEqual({ 'x-queue-type': 'quorum' });
  });

  it('takes arguments positionally', () => {
    const declare = new QueueDeclare('jobs', false, true, false, false, false, { 'x-max-length': 10 });
    expect(declare.arguments).toEqual({ 'x-max-length': 10 });
    expect(declare.durable).toBe(true);
  });

  it('types SASL responses as bytes', () => {
    const fields = METHOD_FIELDS.get(ConnectionStartOk.id) ?? [];
    expect(fields.find((field) => field.name === 'response')).toEqual({
      name: 'response',
      type: 'longstr',
      binary: true,
    });
    expect(fields.find((field) => field.name === 'mechanism')?.binary).toBeUndefined();
    expect(METHOD_FIELDS.get(methods.ConnectionSecure.id)?.[0]?.binary).toBe(true);
    expect(METHOD_FIELDS.get(methods.ConnectionSecureOk.id)?.[0]?.binary).toBe(true);
    expect(METHOD_FIELDS.get(methods.ConnectionStart.id)?.every((field) => field.binary === undefined)).toBe(true);
  });

  it('narrows AnyMethod by id', () => {
    const method: AnyMethod = decodeMethod(new Reader(encode(new BasicAck(7, true))));
    switch (method.id) {
      case BasicAck.id:
        expect(method.deliveryTag).toBe(7);
        expect(method.multiple).toBe(true);
        break;
      default:
        throw new Error(`decoded ${methodName(method.id)}`);
    }
  });
});

describe('method wire format', () => {
  it('encodes basic.ack', () => {
    const method = new BasicAck(1, true);
    const wire = bytes(0, 60, 0, 80, [0, 0, 0, 0, 0, 0, 0, 1], 1);
    expect(encode(method)).toEqual(wire);
    expectDecodes(wire, method);
  });

  it('encodes a delivery tag above 2^32', () => {
    const method = new BasicAck(2 ** 32 + 5, false);
    const wire = bytes(0, 60, 0, 80, [0, 0, 0, 1, 0, 0, 0, 5], 0);
    expect(encode(method)).toEqual(wire);
    expectDecodes(wire, method);
  });

  it('packs queue.declare bits in order', () => {
    // passive, exclusive and no-wait are bits 0, 2 and 4.
    const first = QueueDeclare.from({ queue: 'q', passive: true, exclusive: true, noWait: true });
    const firstWire = bytes(0, 50, 0, 10, 0, 0, 1, 'q', 0b10101, [0, 0, 0, 0]);
    expect(encode(first)).toEqual(firstWire);
    expectDecodes(firstWire, first);

    // durable and auto-delete are bits 1 and 3.
    const second = QueueDeclare.from({ queue: 'q', durable: true, autoDelete: true });
    const secondWire = bytes(0, 50, 0, 10, 0, 0, 1, 'q', 0b01010, [0, 0, 0, 0]);
    expect(encode(second)).toEqual(secondWire);
    expectDecodes(secondWire, second);
  });

  it('encodes queue.declare arguments', () => {
    const method = QueueDeclare.from({ queue: 'q', durable: true, arguments: { 'x-max-priority': 10 } });
    // The table is 20 bytes: key length, 14 key bytes, tag 'I' and a 32-bit integer.
    const wire = bytes(0, 50, 0, 10, 0, 0, 1, 'q', 0b10, [0, 0, 0, 20], 14, 'x-max-priority', 'I', [0, 0, 0, 10]);
    expect(encode(method)).toEqual(wire);
    expectDecodes(wire, method);
  });

  it('encodes exchange.declare bits', () => {
    // passive, durable, auto-delete, internal and no-wait are bits 0 to 4.
    const method = ExchangeDeclare.from({ exchange: 'logs', type: 'topic', durable: true, internal: true });
    const wire = bytes(0, 40, 0, 10, 0, 0, 4, 'logs', 5, 'topic', 0b01010, [0, 0, 0, 0]);
    expect(encode(method)).toEqual(wire);
    expectDecodes(wire, method);
  });

  it('encodes basic.publish', () => {
    const method = BasicPublish.from({ exchange: 'ex', routingKey: 'rk', mandatory: true });
    const wire = bytes(0, 60, 0, 40, 0, 0, 2, 'ex', 2, 'rk', 0b01);
    expect(encode(method)).toEqual(wire);
    expectDecodes(wire, method);

    const immediate = BasicPublish.from({ immediate: true });
    expect(encode(immediate)).toEqual(bytes(0, 60, 0, 40, 0, 0, 0, 0, 0b10));
  });

  it('encodes basic.deliver', () => {
    const method = new BasicDeliver('c', 2 ** 40, true, '', 'k');
    const wire = bytes(0, 60, 0, 60, 1, 'c', [0, 0, 1, 0, 0, 0, 0, 0], 1, 0, 1, 'k');
    expect(encode(method)).toEqual(wire);
    expectDecodes(wire, method);
  });

  it('encodes connection.open reserved fields', () => {
    const method = new ConnectionOpen('/');
    const wire = bytes(0, 10, 0, 40, 1, '/', 0, 0);
    expect(encode(method)).toEqual(wire);
    expectDecodes(wire, method);
  });

  it('skips non-empty reserved fields', () => {
    // A peer may put anything in reserved fields; the decoder reads past them.
    const wire = bytes(0, 10, 0, 40, 1, '/', 3, 'abc', 1);
    expectDecodes(wire, new ConnectionOpen('/'));
  });

  it('encodes connection.tune', () => {
    const method = new ConnectionTune(2047, 131072, 60);
    const wire = bytes(0, 10, 0, 30, [0x07, 0xff], [0, 2, 0, 0], [0, 60]);
    expect(encode(method)).toEqual(wire);
    expectDecodes(wire, method);
  });

  it('encodes connection.start-ok bytes', () => {
    const response = bytes(0, 'u', 0, 'p');
    const method = new ConnectionStartOk({}, 'PLAIN', response, 'en_US');
    const wire = bytes(0, 10, 0, 11, [0, 0, 0, 0], 5, 'PLAIN', [0, 0, 0, 4], [...response], 5, 'en_US');
    expect(encode(method)).toEqual(wire);
    expectDecodes(wire, method);
    expect(decodeMethod(new Reader(wire))).toBeInstanceOf(ConnectionStartOk);
  });

  it('copies SASL bytes out of the payload', () => {
    const wire = bytes(0, 10, 0, 21, [0, 0, 0, 2], 7, 8);
    const decoded = decodeMethod(new Reader(wire)) as methods.ConnectionSecureOk;
    wire[9] = 0;
    expect([...decoded.response]).toEqual([7, 8]);
  });

  it('encodes connection.close', () => {
    const method = new ConnectionClose(404, 'NOT_FOUND', 50, 10);
    const wire = bytes(0, 10, 0, 50, [1, 0x94], 9, 'NOT_FOUND', [0, 50], [0, 10]);
    expect(encode(method)).toEqual(wire);
    expectDecodes(wire, method);
  });

  it('encodes RabbitMQ extensions', () => {
    const blocked = new ConnectionBlocked('low on memory');
    const blockedWire = bytes(0, 10, 0, 60, 13, 'low on memory');
    expect(encode(blocked)).toEqual(blockedWire);
    expectDecodes(blockedWire, blocked);

    const unblockedWire = bytes(0, 10, 0, 61);
    expect(encode(new ConnectionUnblocked())).toEqual(unblockedWire);
    expectDecodes(unblockedWire, new ConnectionUnblocked());

    const update = new ConnectionUpdateSecret('token', 'refresh');
    const updateWire = bytes(0, 10, 0, 70, [0, 0, 0, 5], 'token', 7, 'refresh');
    expect(encode(update)).toEqual(updateWire);
    expectDecodes(updateWire, update);

    const updateOkWire = bytes(0, 10, 0, 71);
    expect(encode(new ConnectionUpdateSecretOk())).toEqual(updateOkWire);
    expectDecodes(updateOkWire, new ConnectionUpdateSecretOk());
  });

  it('encodes confirm.select nowait', () => {
    const method = new ConfirmSelect(true);
    const wire = bytes(0, 85, 0, 10, 1);
    expect(encode(method)).toEqual(wire);
    expectDecodes(wire, method);
  });

  it('encodes methods without fields', () => {
    const wire = bytes(0, 90, 0, 10);
    expect(encode(new TxSelect())).toEqual(wire);
    expectDecodes(wire, new TxSelect());
  });

  it('decodes every default method three ways', () => {
    for (const methodClass of METHOD_CLASSES) {
      const method = new methodClass();
      expectDecodes(encode(method), method);
    }
  });

  it('rejects an unknown method', () => {
    const error = expectFrameError(() => decodeMethod(new Reader(bytes(0, 60, 0, 99))), 'METHOD_UNKNOWN', 540);
    expect(error.message).toContain('60.99');
    expect(error.message).toContain('class id 60');
    expect(error.message).toContain('method id 99');

    // A class id with the top bit set makes the combined id negative; it must still be unknown.
    expectFrameError(() => decodeMethod(new Reader(bytes(0x80, 10, 0, 10))), 'METHOD_UNKNOWN', 540);
  });
});

describe('method round trip', () => {
  it.each(METHOD_CLASSES.map((methodClass) => [methodClass.methodName, methodClass] as const))(
    'round-trips %s',
    (_name, methodClass) => {
      fc.assert(
        fc.property(methodArbitrary(methodClass), fc.uint8Array({ maxLength: 8 }), (method, trailer) => {
          const wire = encode(method);
          const reader = new Reader(bytes([...wire], [...trailer]));
          const decoded = decodeMethod(reader);
          expect(decoded).toStrictEqual(method);
          expect(decoded).toBeInstanceOf(methodClass);
          expect(reader.offset).toBe(wire.length);
        }),
        { numRuns: 50 },
      );
    },
  );

  it('throws FRAME_TRUNCATED on prefixes', () => {
    const arbitrary = fc.constantFrom(...METHOD_CLASSES).chain((methodClass) => methodArbitrary(methodClass));
    fc.assert(
      fc.property(arbitrary, fc.nat(), (method, cut) => {
        const wire = encode(method);
        const length = cut % wire.length;
        expectFrameError(() => decodeMethod(new Reader(wire, 0, length)), 'FRAME_TRUNCATED', 502);
      }),
      { numRuns: 300 },
    );
  });
});

describe('generated constants', () => {
  it('defines frame constants', () => {
    expect(FrameType).toEqual({ method: 1, header: 2, body: 3, heartbeat: 8 });
    expect(FRAME_MIN_SIZE).toBe(4096);
    expect(FRAME_END).toBe(206);
  });

  it('names reply codes', () => {
    expect(ReplyCode.replySuccess).toBe(200);
    expect(ReplyCode.notFound).toBe(404);
    expect(ReplyCode.notImplemented).toBe(540);
    expect(REPLY_CODE_NAMES[404]).toBe('NOT_FOUND');
    expect(REPLY_CODE_NAMES[320]).toBe('CONNECTION_FORCED');
    expect(REPLY_CODE_NAMES[999]).toBeUndefined();
    expect(Object.keys(REPLY_CODE_NAMES)).toHaveLength(Object.keys(ReplyCode).length);
  });

  it('classes hard errors', () => {
    const hard = Object.values(ReplyCode).filter((code) => isHardError(code));
    expect(hard).toEqual([320, 402, 501, 502, 503, 504, 505, 506, 530, 540, 541]);
    expect(isHardError(ReplyCode.notFound)).toBe(false);
    expect(isHardError(ReplyCode.replySuccess)).toBe(false);
    expect(isHardError(999)).toBe(false);
  });
});
