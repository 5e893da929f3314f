import {
  BasicPublish,
  ConnectionStartOk,
  ConnectionTune,
  ConnectionUpdateSecret,
  Decimal,
  HEARTBEAT_FRAME,
  PROTOCOL_HEADER,
  QueueDeclare,
  Writer,
  encodeContentFrames,
  encodeMethodFrame,
  typed,
} from '@warren/protocol';
import { describe, expect, test } from 'vitest';
import { FrameTracer } from './frame-trace.js';

const writer = new Writer();

function recorder(): { lines: string[]; tracer: FrameTracer } {
  const lines: string[] = [];
  const tracer = new FrameTracer((direction, channel, description) => lines.push(`${direction} ch${channel} ${description}`));
  return { lines, tracer };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function publishChunks(body: Uint8Array, frameMax = 4096): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  encodeContentFrames(writer, 1, new BasicPublish('', 'q'), 60, { contentType: 'text/plain' }, body, frameMax, chunks);
  return chunks;
}

describe('FrameTracer outgoing', () => {
  test('protocol header, method and content', () => {
    const { lines, tracer } = recorder();

    tracer.outgoing(PROTOCOL_HEADER);
    for (const chunk of publishChunks(new Uint8Array(5000))) tracer.outgoing(chunk);
    tracer.outgoing(HEARTBEAT_FRAME);

    expect(lines).toEqual([
      'out ch0 protocol header AMQP 0-9-1',
      'out ch1 basic.publish exchange="" routingKey="q" mandatory=false immediate=false',
      'out ch1 content header 5000 bytes',
      'out ch1 content body 4088 bytes',
      'out ch1 content body 912 bytes',
      'out ch0 heartbeat',
    ]);
  });

  test('hides the SASL response and a new secret', () => {
    const { lines, tracer } = recorder();

    tracer.outgoing(PROTOCOL_HEADER);
    tracer.outgoing(encodeMethodFrame(writer, 0, new ConnectionStartOk({ product: 'Warren' }, 'PLAIN', new TextEncoder().encode('\u0000u\u0000hunter2'), 'en_US')));
    tracer.outgoing(encodeMethodFrame(writer, 0, new ConnectionUpdateSecret(new TextEncoder().encode('token-hunter2'), 'refresh')));

    expect(lines.slice(1)).toEqual([
      'out ch0 connection.start-ok clientProperties={product: "Warren"} mechanism="PLAIN" response=<hidden> locale="en_US"',
      'out ch0 connection.update-secret newSecret=<hidden> reason="refresh"',
    ]);
  });

  test('field tables of every kind of value', () => {
    const { lines, tracer } = recorder();
    const args = {
      'x-expires': 600_000,
      nested: { list: [1, 'two', true], when: new Date('2024-01-02T03:04:05Z') },
      price: new Decimal(2, 1999),
      float: typed('f', 1.5),
      bytes: new Uint8Array(3),
      long: 'x'.repeat(250),
    };

    tracer.outgoing(PROTOCOL_HEADER);
    tracer.outgoing(encodeMethodFrame(writer, 2, QueueDeclare.from({ queue: 'q', durable: true, arguments: args })));

    expect(lines[1]).toBe(
      'out ch2 queue.declare queue="q" passive=false durable=true exclusive=false autoDelete=false noWait=false arguments={' +
        'x-expires: 600000, nested: {list: [1, "two", true], when: 2024-01-02T03:04:05.000Z}, price: 1999e-2, float: 1.5, ' +
        `bytes: <3 bytes>, long: "${'x'.repeat(200)}..." (250 characters)}`,
    );
  });
});

describe('FrameTracer incoming', () => {
  const tune = encodeMethodFrame(writer, 0, new ConnectionTune(2047, 131072, 60));
  const content = concat(publishChunks(new Uint8Array(10)));

  test('whole chunk', () => {
    const { lines, tracer } = recorder();

    tracer.incoming(concat([tune, HEARTBEAT_FRAME, content]), 4096);

    expect(lines).toEqual([
      'in ch0 connection.tune channelMax=2047 frameMax=131072 heartbeat=60',
      'in ch0 heartbeat',
      'in ch1 basic.publish exchange="" routingKey="q" mandatory=false immediate=false',
      'in ch1 content header 10 bytes',
      'in ch1 content body 10 bytes',
    ]);
  });

  test('byte by byte gives the same lines', () => {
    const whole = recorder();
    const split = recorder();
    const bytes = concat([tune, HEARTBEAT_FRAME, content]);

    whole.tracer.incoming(bytes, 4096);
    for (let index = 0; index < bytes.length; index++) split.tracer.incoming(bytes.subarray(index, index + 1), 4096);

    expect(split.lines).toEqual(whole.lines);
  });

  test('frame above frameMax stops the trace once', () => {
    const { lines, tracer } = recorder();
    const large = concat(publishChunks(new Uint8Array(10_000), 131072));

    tracer.incoming(large, 4096);
    tracer.incoming(tune, 4096);

    expect(lines).toHaveLength(3);
    expect(lines[1]).toBe('in ch1 content header 10000 bytes');
    expect(lines[2]).toMatch(/^in ch0 undecodable bytes, trace stopped: frame of type 3 on channel 1 announces a 10000-byte payload/);
  });

  test('frameMax follows the negotiated value', () => {
    const { lines, tracer } = recorder();

    tracer.incoming(concat(publishChunks(new Uint8Array(10_000), 131072)), 131072);

    expect(lines.at(-1)).toBe('in ch1 content body 10000 bytes');
  });

  test('unknown method is described, not thrown', () => {
    const { lines, tracer } = recorder();
    const frame = new Uint8Array([1, 0, 3, 0, 0, 0, 4, 0, 99, 0, 1, 0xce]);

    tracer.incoming(frame, 4096);

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^in ch3 undecodable method frame of 4 bytes: /);
  });

  test('throwing callback is ignored', () => {
    const tracer = new FrameTracer(() => {
      throw new Error('callback failed');
    });

    expect(() => tracer.incoming(tune, 4096)).not.toThrow();
  });
});
