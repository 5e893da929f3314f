import { describe, expect, it } from 'vitest';
import { errorFromRecord, errorToRecord } from './error-record.js';
import {
  AccessRefusedError,
  AmqpError,
  ChannelClosedByBrokerError,
  ChannelError,
  ConnectionClosedByBrokerError,
  FrameError,
  HeartbeatTimeoutError,
  InvalidArgumentError,
  NackError,
  UnroutableError,
} from './errors.js';

/** Sends a record through structured cloning, as `postMessage` does. */
function overThread(error: unknown): Error {
  return errorFromRecord(structuredClone(errorToRecord(error)));
}

describe('error records', () => {
  it('rebuild each Warren error class', () => {
    const errors: AmqpError[] = [
      new ChannelClosedByBrokerError("queue.declare: NOT_FOUND - no queue 'q'", {
        code: 'CHANNEL_CLOSED_BY_BROKER',
        source: 'broker',
        replyCode: 404,
        replyText: "NOT_FOUND - no queue 'q'",
        classId: 50,
        methodId: 10,
      }),
      new ConnectionClosedByBrokerError('closed', { code: 'CONNECTION_FORCED', source: 'broker', replyCode: 320, retryable: true }),
      new AccessRefusedError('refused', { code: 'ACCESS_REFUSED', source: 'broker', replyCode: 403 }),
      new HeartbeatTimeoutError('missed', { code: 'HEARTBEAT_TIMEOUT', source: 'network', retryable: true }),
      new NackError('nacked', { code: 'PUBLISH_NACKED', source: 'broker' }),
      new FrameError('bad frame', 'FRAME_END_INVALID', 501),
      new InvalidArgumentError('too long', 'SHORTSTR_TOO_LONG'),
    ];
    for (const error of errors) {
      const copy = overThread(error) as AmqpError;
      expect(copy.constructor).toBe(error.constructor);
      expect(copy.message).toBe(error.message);
      expect(copy.code).toBe(error.code);
      expect(copy.source).toBe(error.source);
      expect(copy.retryable).toBe(error.retryable);
      expect(copy.replyCode).toBe(error.replyCode);
      expect(copy.replyText).toBe(error.replyText);
      expect(copy.classId).toBe(error.classId);
      expect(copy.methodId).toBe(error.methodId);
      expect(copy.stack).toBe(error.stack);
    }
  });

  it('keep the returned message of UnroutableError', () => {
    const returned = { replyCode: 312, body: new Uint8Array([1, 2]) };
    const copy = overThread(new UnroutableError('returned', { code: 'PUBLISH_RETURNED', source: 'broker', returned }));
    expect(copy).toBeInstanceOf(UnroutableError);
    expect((copy as UnroutableError).returned).toEqual(returned);
  });

  it('keep causes as errors', () => {
    const cause = new ChannelError('inner', { code: 'CHANNEL_CLOSED', source: 'client' });
    const copy = overThread(new ConnectionClosedByBrokerError('outer', { code: 'X', source: 'broker', cause }));
    expect(copy.cause).toBeInstanceOf(ChannelError);
    expect((copy.cause as ChannelError).code).toBe('CHANNEL_CLOSED');
  });

  it('turn foreign errors into Error with name and code', () => {
    const socketError = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const copy = overThread(socketError);
    expect(copy).toBeInstanceOf(Error);
    expect(copy.message).toBe('connect ECONNREFUSED 127.0.0.1:1');
    expect((copy as { code?: string }).code).toBe('ECONNREFUSED');

    const typeError = overThread(new TypeError('not a function'));
    expect(typeError.name).toBe('TypeError');
    expect(overThread('plain text').message).toBe('plain text');
  });

  it('stop at a cyclic cause chain', () => {
    const first = new Error('first');
    const second = new Error('second', { cause: first });
    Object.assign(first, { cause: second });
    const record = errorToRecord(first);
    expect(() => structuredClone(record)).not.toThrow();
  });
});
