import { describe, expect, test } from 'vitest';
import { FrameDecoder, type Frame } from '../codec/frame-decoder.js';
import { HEARTBEAT_FRAME, PROTOCOL_HEADER, encodeContentFrames, encodeMethodFrame } from '../codec/frame-encoder.js';
import { Reader } from '../codec/reader.js';
import { Writer } from '../codec/writer.js';
import type { AmqpError } from '../errors.js';
import { recordAllocations } from '../testing/allocations.js';
import {
  type AnyMethod,
  BasicAck,
  BasicConsumeOk,
  BasicNack,
  BasicReturn,
  ChannelFlow,
  ConfirmSelectOk,
  ConnectionUpdateSecretOk,
  BasicDeliver,
  BasicGetEmpty,
  BasicGetOk,
  BasicConsume,
  BasicGet,
  BasicQos,
  ChannelClose,
  ChannelCloseOk,
  ChannelOpenOk,
  ConnectionBlocked,
  ConnectionClose,
  ConnectionCloseOk,
  ConnectionOpenOk,
  ConnectionStart,
  ConnectionTune,
  ConnectionUnblocked,
  MethodId,
  TxCommit,
  TxCommitOk,
  QueueDeclare,
  QueueDeclareOk,
  decodeMethod,
} from '../generated/methods.js';
import type { ChannelEngine } from './channel.js';
import { ConnectionEngine, type ConnectionEngineOptions } from './connection.js';
import type { Message } from './message.js';
import { plainMechanism } from './sasl.js';

/**
 * A broker scripted by the test: it decodes what the engine sends with the same codec a real
 * broker would need, and feeds frames back through `receive`.
 */
class ScriptedBroker {
  readonly writer = new Writer();
  readonly decoder = new FrameDecoder();
  readonly events: string[] = [];
  closeError: AmqpError | undefined | 'open' = 'open';
  engine: ConnectionEngine;
  now = 0;
  #headerSeen = false;

  constructor(options: Partial<ConnectionEngineOptions> = {}, allocate?: (size: number) => Uint8Array) {
    this.decoder.frameMax = 1 << 20;
    this.engine = new ConnectionEngine(
      { mechanism: plainMechanism('guest', 'secret'), ...options },
      {
        send: (chunk) => this.#collect(chunk),
        ...(allocate === undefined ? {} : { allocate }),
        onOpen: () => this.events.push('open'),
        onClose: (error) => {
          this.closeError = error;
          this.events.push(`close:${error?.code ?? 'none'}`);
        },
        onBlocked: (reason) => this.events.push(`blocked:${reason}`),
        onUnblocked: () => this.events.push('unblocked'),
      },
    );
  }

  readonly sent: Frame[] = [];
  sentBytes: Uint8Array[] = [];

  #collect(chunk: Uint8Array): void {
    this.sentBytes.push(chunk);
    if (!this.#headerSeen) {
      expect(chunk).toEqual(PROTOCOL_HEADER);
      this.#headerSeen = true;
      return;
    }
    this.decoder.push(chunk.slice());
    let frame: Frame | undefined;
    while ((frame = this.decoder.next()) !== undefined) this.sent.push(frame);
  }

  /** Methods the engine sent since the last call, as decoded objects. */
  takeMethods(): AnyMethod[] {
    const frames = this.sent.splice(0);
    return frames.filter((frame) => frame.type === 1).map((frame) => decodeMethod(new Reader(frame.payload)));
  }

  takeFrames(): Frame[] {
    return this.sent.splice(0);
  }

  send(channel: number, method: AnyMethod): void {
    this.engine.receive(encodeMethodFrame(this.writer, channel, method).slice(), this.now);
  }

  sendBytes(bytes: Uint8Array): void {
    this.engine.receive(bytes, this.now);
  }

  /** Runs the handshake to the open state with the given tune values. */
  open(tune = new ConnectionTune(2047, 131072, 60)): void {
    this.engine.start(this.now);
    this.send(0, new ConnectionStart(0, 9, { product: 'RabbitMQ' }, 'AMQPLAIN PLAIN', 'en_US'));
    this.send(0, tune);
    this.send(0, new ConnectionOpenOk());
    this.takeMethods();
  }

  openChannel(): ChannelEngine {
    let opened: ChannelEngine | undefined;
    this.engine.openChannel({}, { resolve: (channel) => (opened = channel), reject: (error) => { throw error; } });
    const [open] = this.takeFrames();
    expect(decodeMethod(new Reader(open!.payload)).id).toBe(MethodId.ChannelOpen);
    this.send(open!.channel, new ChannelOpenOk());
    expect(opened).toBeDefined();
    return opened!;
  }
}

function recorder<T>() {
  const result: { value?: T; error?: AmqpError; settled: number } = { settled: 0 };
  return {
    result,
    pending: {
      resolve: (value: T) => {
        result.value = value;
        result.settled++;
      },
      reject: (error: AmqpError) => {
        result.error = error;
        result.settled++;
      },
    },
  };
}

describe('connection handshake', () => {
  test('sends the protocol header, start-ok, tune-ok and open in order', () => {
    const broker = new ScriptedBroker({ vhost: 'tests', connectionName: 'handshake test' });
    broker.engine.start(0);
    expect(broker.sentBytes[0]).toEqual(new Uint8Array([65, 77, 81, 80, 0, 0, 9, 1]));

    broker.send(0, new ConnectionStart(0, 9, {}, 'AMQPLAIN PLAIN', 'en_US'));
    const [startOk] = broker.takeMethods();
    if (startOk?.id !== MethodId.ConnectionStartOk) throw new Error(`expected start-ok, got ${startOk?.id}`);
    expect(startOk.mechanism).toBe('PLAIN');
    expect(new TextDecoder().decode(startOk.response)).toBe('\u0000guest\u0000secret');
    expect(startOk.locale).toBe('en_US');
    expect(startOk.clientProperties.connection_name).toBe('handshake test');
    expect(startOk.clientProperties.product).toBe('Warren');
    expect(startOk.clientProperties.capabilities).toEqual({
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      authentication_failure_close: true,
      per_consumer_qos: true,
    });

    broker.send(0, new ConnectionTune(0, 0, 60));
    const [tuneOk, open] = broker.takeMethods();
    expect(tuneOk).toMatchObject({ id: MethodId.ConnectionTuneOk, channelMax: 2047, frameMax: 131072, heartbeat: 60 });
    expect(open).toMatchObject({ id: MethodId.ConnectionOpen, virtualHost: 'tests' });
    expect(broker.events).toEqual([]);

    broker.send(0, new ConnectionOpenOk());
    expect(broker.events).toEqual(['open']);
    expect(broker.engine.state).toBe('open');
  });

  test.each([
    { name: 'broker zeros mean no limit', server: [0, 0, 0], client: {}, expected: [2047, 131072, 0] },
    { name: 'smaller limits win', server: [100, 8192, 30], client: { channelMax: 500, frameMax: 65536, heartbeat: 10 }, expected: [100, 8192, 10] },
    { name: 'client limits below the broker', server: [2047, 131072, 60], client: { channelMax: 10, frameMax: 4096 }, expected: [10, 4096, 60] },
    { name: 'client heartbeat 0 disables', server: [0, 0, 60], client: { heartbeat: 0 }, expected: [2047, 131072, 0] },
    { name: 'client heartbeat capped by broker', server: [0, 0, 60], client: { heartbeat: 120 }, expected: [2047, 131072, 60] },
    { name: 'client heartbeat when broker has none', server: [0, 0, 0], client: { heartbeat: 10 }, expected: [2047, 131072, 10] },
    { name: 'client asks above no-limit broker', server: [0, 0, 0], client: { channelMax: 65535, frameMax: 4294967295 }, expected: [65535, 4294967295, 0] },
  ])('tune: $name', ({ server, client, expected }) => {
    const broker = new ScriptedBroker(client);
    broker.engine.start(0);
    broker.send(0, new ConnectionStart(0, 9, {}, 'PLAIN', 'en_US'));
    broker.takeMethods();
    broker.send(0, new ConnectionTune(server[0], server[1], server[2]));
    const [tuneOk] = broker.takeMethods();
    expect(tuneOk).toMatchObject({ channelMax: expected[0], frameMax: expected[1], heartbeat: expected[2] });
  });

  test('refuses a negotiated frame_max below 4096', () => {
    const broker = new ScriptedBroker();
    broker.engine.start(0);
    broker.send(0, new ConnectionStart(0, 9, {}, 'PLAIN', 'en_US'));
    broker.takeMethods();
    broker.send(0, new ConnectionTune(0, 1024, 0));
    expect(broker.events).toEqual(['close:FRAME_MAX_TOO_SMALL']);
    const methods = broker.takeMethods();
    expect(methods.map((method) => method.id)).toEqual([MethodId.ConnectionClose]);
  });

  test('rejects client options out of range', () => {
    expect(() => new ScriptedBroker({ frameMax: 4095 })).toThrow(/frameMax must be an integer from 4096/);
    expect(() => new ScriptedBroker({ channelMax: 0 })).toThrow(/channelMax/);
    expect(() => new ScriptedBroker({ heartbeat: -1 })).toThrow(/heartbeat/);
  });

  test('fails when the broker lacks the mechanism', () => {
    const broker = new ScriptedBroker();
    broker.engine.start(0);
    broker.send(0, new ConnectionStart(0, 9, {}, 'AMQPLAIN EXTERNAL', 'en_US'));
    expect(broker.events).toEqual(['close:AUTH_MECHANISM_UNSUPPORTED']);
  });

  test('access refused after start-ok is an authentication failure', () => {
    const broker = new ScriptedBroker();
    broker.engine.start(0);
    broker.send(0, new ConnectionStart(0, 9, {}, 'PLAIN', 'en_US'));
    broker.takeMethods();
    broker.send(0, new ConnectionClose(403, 'ACCESS_REFUSED - Login was refused', 0, 0));
    expect(broker.events).toEqual(['close:AUTHENTICATION_FAILED']);
    expect(broker.takeMethods().map((method) => method.id)).toEqual([MethodId.ConnectionCloseOk]);
    expect((broker.closeError as AmqpError).replyCode).toBe(403);
  });

  test('non-AMQP reply fails with its first bytes', () => {
    const broker = new ScriptedBroker();
    broker.engine.start(0);
    broker.sendBytes(new TextEncoder().encode('HTTP/1.1 400 Bad Request\r\n\r\n'));
    expect(broker.events).toEqual(['close:SERVER_NOT_AMQP']);
    expect((broker.closeError as AmqpError).message).toBe('the server is not an AMQP 0-9-1 broker: it sent "HTTP/1.1 400 Bad Request...."');
  });

  test('hang-up after start-ok is a probable authentication failure', () => {
    const broker = new ScriptedBroker();
    broker.engine.start(0);
    broker.send(0, new ConnectionStart(0, 9, {}, 'PLAIN', 'en_US'));
    broker.engine.transportClosed();
    expect(broker.events).toEqual(['close:PROBABLE_AUTHENTICATION_FAILURE']);
  });
});

describe('connection close', () => {
  test('broker close sends close-ok and reports reply code', () => {
    const broker = new ScriptedBroker();
    broker.open();
    broker.send(0, new ConnectionClose(320, 'CONNECTION_FORCED - broker forced connection closure with reason', 0, 0));
    expect(broker.takeMethods().map((method) => method.id)).toEqual([MethodId.ConnectionCloseOk]);
    const error = broker.closeError as AmqpError;
    expect(error.code).toBe('CONNECTION_CLOSED_BY_BROKER');
    expect(error.replyCode).toBe(320);
    expect(error.source).toBe('broker');
    expect(error.retryable).toBe(true);
  });

  test('client close waits for close-ok and rejects requests once', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    const declare = recorder<AnyMethod>();
    channel.request(QueueDeclare.from({ queue: 'q' }), declare.pending);
    const closed = recorder<void>();
    broker.engine.close(closed.pending);

    expect(declare.result).toMatchObject({ settled: 1, error: { code: 'CONNECTION_CLOSED' } });
    expect(closed.result.settled).toBe(0);
    expect(broker.takeMethods().map((method) => method.id)).toEqual([MethodId.QueueDeclare, MethodId.ConnectionClose]);

    // Frames that arrive after close are discarded, as the spec allows.
    broker.send(1, new QueueDeclareOk('q', 0, 0));
    broker.send(0, new ConnectionCloseOk());
    expect(closed.result.settled).toBe(1);
    expect(declare.result.settled).toBe(1);
    expect(broker.events).toEqual(['open', 'close:none']);
  });

  test('close of an ended connection resolves at once', () => {
    const broker = new ScriptedBroker();
    broker.open();
    broker.engine.transportClosed(new Error('reset'));
    expect(broker.events.at(-1)).toBe('close:CONNECTION_LOST');
    const closed = recorder<void>();
    broker.engine.close(closed.pending);
    expect(closed.result.settled).toBe(1);
  });

  test('frame for an unknown channel closes with 504', () => {
    const broker = new ScriptedBroker();
    broker.open();
    broker.send(7, new QueueDeclareOk('q', 0, 0));
    const [close] = broker.takeMethods();
    expect(close).toMatchObject({ id: MethodId.ConnectionClose, replyCode: 504 });
    expect(broker.events.at(-1)).toBe('close:CHANNEL_UNKNOWN');
  });

  test('malformed frame closes with the frame error code', () => {
    const broker = new ScriptedBroker();
    broker.open();
    // A method frame whose end octet is wrong.
    broker.sendBytes(new Uint8Array([1, 0, 0, 0, 0, 0, 4, 0, 10, 0, 51, 0]));
    const [close] = broker.takeMethods();
    expect(close).toMatchObject({ id: MethodId.ConnectionClose, replyCode: 501 });
    expect(broker.events.at(-1)).toBe('close:FRAME_END_INVALID');
  });

  test('blocked and unblocked reach the handler', () => {
    const broker = new ScriptedBroker();
    broker.open();
    broker.send(0, new ConnectionBlocked('low on memory'));
    broker.send(0, new ConnectionUnblocked());
    expect(broker.events).toEqual(['open', 'blocked:low on memory', 'unblocked']);
  });
});

describe('heartbeats', () => {
  test('sends a heartbeat after an interval without sending', () => {
    const broker = new ScriptedBroker();
    broker.open(new ConnectionTune(2047, 131072, 10));
    expect(broker.engine.nextTimerAt).toBe(2500);

    broker.takeFrames();
    for (let now = 2500; now < 10_000; now += 2500) {
      broker.now = now;
      broker.send(0, new ConnectionBlocked('keep receiving'));
      broker.engine.tick(now);
    }
    expect(broker.takeFrames()).toEqual([]);
    broker.engine.tick(10_000);
    const [heartbeat] = broker.takeFrames();
    expect(heartbeat).toMatchObject({ type: 8, channel: 0 });
    expect(broker.sentBytes.at(-1)).toEqual(HEARTBEAT_FRAME);
  });

  test('outbound frames postpone the heartbeat', () => {
    const broker = new ScriptedBroker();
    broker.open(new ConnectionTune(2047, 131072, 10));
    const channel = broker.openChannel();
    broker.takeFrames();
    for (let now = 2500; now <= 20_000; now += 2500) {
      broker.now = now;
      channel.ack(1, false);
      broker.send(0, new ConnectionBlocked('keep receiving'));
      broker.engine.tick(now);
    }
    expect(broker.takeFrames().filter((frame) => frame.type === 8)).toEqual([]);
  });

  test('silent broker times out after two intervals', () => {
    const broker = new ScriptedBroker();
    broker.open(new ConnectionTune(2047, 131072, 10));
    broker.engine.tick(10_000);
    expect(broker.events).toEqual(['open']);
    broker.engine.tick(19_999);
    expect(broker.events).toEqual(['open']);
    broker.engine.tick(20_000);
    expect(broker.events).toEqual(['open', 'close:HEARTBEAT_TIMEOUT']);
    expect((broker.closeError as AmqpError).source).toBe('network');
    expect(broker.engine.nextTimerAt).toBeUndefined();
  });

  test('heartbeat 0 needs no timer', () => {
    const broker = new ScriptedBroker();
    broker.open(new ConnectionTune(2047, 131072, 0));
    expect(broker.engine.nextTimerAt).toBeUndefined();
  });
});

describe('close races', () => {
  test('closing channel discards a delivery under way', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    broker.send(1, new BasicDeliver('ctag', 1, false, '', 'q'));
    const closed = recorder<void>();
    channel.close(closed.pending);
    const header = new Writer();
    header.begin();
    header.uint16(60);
    header.uint16(0);
    header.uint64(3);
    header.uint16(0);
    broker.sendBytes(frame(2, 1, header.finish()));
    broker.sendBytes(frame(3, 1, new Uint8Array(3)));
    broker.send(1, new ChannelCloseOk());

    expect(closed.result.settled).toBe(1);
    expect(broker.engine.state).toBe('open');
    expect(broker.events).toEqual(['open']);
  });

  test('crossing channel closes keep the id until close-ok', () => {
    const broker = new ScriptedBroker({ channelMax: 1 });
    broker.open();
    const channel = broker.openChannel();
    const closed = recorder<void>();
    channel.close(closed.pending);
    broker.send(1, new ChannelClose(406, 'PRECONDITION_FAILED - unknown delivery tag 9', 60, 80));
    expect(broker.takeMethods().map((method) => method.id)).toEqual([MethodId.ChannelClose, MethodId.ChannelCloseOk]);
    expect(closed.result.settled).toBe(1);

    // RabbitMQ replies to the client's close even after sending its own.
    const next = recorder<ChannelEngine>();
    expect(() => broker.engine.openChannel({}, next.pending)).toThrow(/all 1 channels/);
    broker.send(1, new ChannelCloseOk());
    expect(broker.engine.state).toBe('open');
    broker.engine.openChannel({}, next.pending);
    expect(broker.takeMethods().map((method) => method.id)).toEqual([MethodId.ChannelOpen]);
  });

  test('unanswered connection close gives up after closeTimeout', () => {
    const broker = new ScriptedBroker({ closeTimeout: 5000 });
    broker.open(new ConnectionTune(2047, 131072, 0));
    const closed = recorder<void>();
    broker.engine.close(closed.pending);
    expect(broker.engine.nextTimerAt).toBe(0);
    broker.engine.tick(1000);
    expect(broker.engine.nextTimerAt).toBe(6000);
    broker.engine.tick(5999);
    expect(closed.result.settled).toBe(0);
    broker.engine.tick(6000);
    expect(closed.result.settled).toBe(1);
    expect(broker.events).toEqual(['open', 'close:none']);
  });

  test('silent broker before open-ok times out', () => {
    const broker = new ScriptedBroker();
    broker.engine.start(0);
    broker.send(0, new ConnectionStart(0, 9, {}, 'PLAIN', 'en_US'));
    broker.send(0, new ConnectionTune(0, 0, 1));
    broker.engine.tick(1000);
    broker.engine.tick(2000);
    expect(broker.events).toEqual(['close:HEARTBEAT_TIMEOUT']);
  });
});

describe('channels', () => {
  test('one synchronous request is outstanding at a time', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    const first = recorder<AnyMethod>();
    const second = recorder<AnyMethod>();
    channel.request(QueueDeclare.from({ queue: 'a' }), first.pending);
    channel.request(QueueDeclare.from({ queue: 'b' }), second.pending);
    channel.ack(5, false);

    expect(broker.takeMethods()).toMatchObject([{ id: MethodId.QueueDeclare, queue: 'a' }]);
    broker.send(1, new QueueDeclareOk('a', 3, 0));
    expect(first.result.value).toMatchObject({ queue: 'a', messageCount: 3 });
    expect(broker.takeMethods()).toMatchObject([{ id: MethodId.QueueDeclare, queue: 'b' }]);
    // The ack waits for the reply to the request before it, so the broker receives the calls in order.
    broker.send(1, new QueueDeclareOk('b', 0, 0));
    expect(second.result.value).toMatchObject({ queue: 'b' });
    expect(broker.takeMethods()).toMatchObject([{ id: MethodId.BasicAck, deliveryTag: 5 }]);
  });

  test('no-wait request expects no answer', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    const declare = recorder<AnyMethod>();
    channel.request(QueueDeclare.from({ queue: 'a', noWait: true }), declare.pending);
    expect(declare.result.settled).toBe(1);
    const next = recorder<AnyMethod>();
    channel.request(QueueDeclare.from({ queue: 'b' }), next.pending);
    expect(broker.takeMethods()).toMatchObject([{ queue: 'a', noWait: true }, { queue: 'b', noWait: false }]);
  });

  test('unexpected answer closes the connection with 503', () => {
    const broker = new ScriptedBroker();
    broker.open();
    broker.openChannel();
    broker.send(1, new QueueDeclareOk('a', 0, 0));
    expect(broker.takeMethods()).toMatchObject([{ id: MethodId.ConnectionClose, replyCode: 503 }]);
    expect(broker.events.at(-1)).toBe('close:METHOD_UNEXPECTED');
  });

  test('broker channel close rejects its requests and frees the id', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    const declare = recorder<AnyMethod>();
    const queued = recorder<AnyMethod>();
    channel.request(QueueDeclare.from({ queue: 'missing', passive: true }), declare.pending);
    channel.request(QueueDeclare.from({ queue: 'other' }), queued.pending);
    broker.takeMethods();
    broker.send(1, new ChannelClose(404, "NOT_FOUND - no queue 'missing' in vhost '/'", 50, 10));

    expect(broker.takeMethods().map((method) => method.id)).toEqual([MethodId.ChannelCloseOk]);
    expect(declare.result.error).toMatchObject({
      code: 'CHANNEL_CLOSED_BY_BROKER',
      replyCode: 404,
      classId: 50,
      methodId: 10,
      message: "queue.declare: NOT_FOUND - no queue 'missing' in vhost '/'",
    });
    expect(queued.result.error).toBe(declare.result.error);
    expect(declare.result.settled + queued.result.settled).toBe(2);
    expect(broker.engine.state).toBe('open');
    expect(() => channel.ack(1, false)).toThrow(/no queue 'missing'/);
  });

  test('client channel close waits for close-ok before reusing the id', () => {
    const broker = new ScriptedBroker({ channelMax: 1 });
    broker.open();
    const channel = broker.openChannel();
    const closed = recorder<void>();
    channel.close(closed.pending);
    expect(broker.takeMethods().map((method) => method.id)).toEqual([MethodId.ChannelClose]);

    const next = recorder<ChannelEngine>();
    expect(() => broker.engine.openChannel({}, next.pending)).toThrow(/all 1 channels/);
    broker.send(1, new ChannelCloseOk());
    expect(closed.result.settled).toBe(1);
    broker.engine.openChannel({}, next.pending);
    expect(broker.takeMethods().map((method) => method.id)).toEqual([MethodId.ChannelOpen]);
  });
});

describe('publish', () => {
  test('invalid delivery mode sends nothing', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    broker.takeFrames();
    expect(() => channel.publish('', 'q', new Uint8Array(1), { deliveryMode: 7 }, false, false)).toThrow(
      expect.objectContaining({ code: 'VALUE_OUT_OF_RANGE', message: expect.stringContaining('deliveryMode') }),
    );
    expect(broker.takeFrames()).toEqual([]);
  });

  test('wrongly typed property names itself', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    broker.takeFrames();
    const properties = { expiration: 60000 } as unknown as { expiration: string };
    expect(() => channel.publish('', 'q', new Uint8Array(1), properties, false, false)).toThrow(
      expect.objectContaining({ code: 'VALUE_TYPE_INVALID', message: 'property expiration: expected a string, got number' }),
    );
    expect(broker.takeFrames()).toEqual([]);
    channel.publish('', 'q', new Uint8Array(1), {}, false, false);
    expect(broker.takeFrames().map((frame) => frame.type)).toEqual([1, 2, 3]);
  });

  test('method field errors name the method', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    const qos = recorder<AnyMethod>();
    expect(() => channel.request(BasicQos.from({ prefetchCount: 70000 }), qos.pending)).toThrow(
      'basic.qos prefetchCount: value 70000 does not fit an unsigned 16-bit integer field',
    );
  });
});

describe('confirms', () => {
  function confirmChannel(broker: ScriptedBroker): ChannelEngine {
    broker.open();
    const channel = broker.openChannel();
    const selected = recorder<void>();
    channel.confirmSelect(selected.pending);
    broker.takeMethods();
    broker.send(1, new ConfirmSelectOk());
    expect(selected.result.settled).toBe(1);
    expect(channel.confirmMode).toBe(true);
    return channel;
  }

  function publish(channel: ChannelEngine, mandatory = false, routingKey = 'q') {
    const published = recorder<void>();
    channel.publish('', routingKey, new Uint8Array([1]), {}, mandatory, false, published.pending);
    return published.result;
  }

  function sendReturn(broker: ScriptedBroker, routingKey: string): void {
    const chunks: Uint8Array[] = [];
    encodeContentFrames(broker.writer, 1, new BasicReturn(312, 'NO_ROUTE', '', routingKey), 60, {}, new Uint8Array([1]), 131072, chunks);
    for (const chunk of chunks) broker.sendBytes(chunk.slice());
  }

  test('multiple ack settles every covered publish', () => {
    const broker = new ScriptedBroker();
    const channel = confirmChannel(broker);
    const results = [publish(channel), publish(channel), publish(channel), publish(channel)];
    expect(results.map((result) => result.settled)).toEqual([0, 0, 0, 0]);

    broker.send(1, new BasicAck(3, true));
    expect(results.map((result) => result.settled)).toEqual([1, 1, 1, 0]);
    broker.send(1, new BasicNack(4, false, false));
    expect(results[3]).toMatchObject({ settled: 1, error: { code: 'MESSAGE_NACKED' } });
  });

  test('return before ack rejects that publish only', () => {
    const broker = new ScriptedBroker();
    const channel = confirmChannel(broker);
    const first = publish(channel, true, 'routed');
    const second = publish(channel, true, 'nowhere');
    sendReturn(broker, 'nowhere');
    broker.send(1, new BasicAck(2, true));

    expect(first.settled).toBe(1);
    expect(first.error).toBeUndefined();
    expect(second).toMatchObject({ settled: 1, error: { code: 'MESSAGE_UNROUTABLE', replyCode: 312 } });
  });

  test('ack of earlier messages after a return', () => {
    const broker = new ScriptedBroker();
    const channel = confirmChannel(broker);
    const results = [publish(channel, true, 'routed'), publish(channel, true, 'routed'), publish(channel, true, 'nowhere')];
    // RabbitMQ may ack earlier messages between a return and the ack of the returned message.
    sendReturn(broker, 'nowhere');
    broker.send(1, new BasicAck(2, true));
    expect(results.map((result) => result.error)).toEqual([undefined, undefined, undefined]);
    broker.send(1, new BasicAck(3, false));
    expect(results[2]).toMatchObject({ settled: 1, error: { code: 'MESSAGE_UNROUTABLE' } });
  });

  test('publishes before select-ok are numbered', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    const selected = recorder<void>();
    channel.confirmSelect(selected.pending);
    const early = publish(channel);
    broker.send(1, new ConfirmSelectOk());
    const later = publish(channel);
    broker.send(1, new BasicAck(2, true));
    expect(early.settled).toBe(1);
    expect(later.settled).toBe(1);
  });

  test('waitForConfirms reports an earlier nack', () => {
    const broker = new ScriptedBroker();
    const channel = confirmChannel(broker);
    publish(channel);
    broker.send(1, new BasicNack(1, false, false));
    const waited = recorder<void>();
    channel.waitForConfirms(waited.pending);
    expect(waited.result).toMatchObject({ settled: 1, error: { code: 'MESSAGE_NACKED' } });
    const again = recorder<void>();
    channel.waitForConfirms(again.pending);
    expect(again.result).toMatchObject({ settled: 1 });
    expect(again.result.error).toBeUndefined();
  });

  test('waitForConfirms covers publishes made before it', () => {
    const broker = new ScriptedBroker();
    const channel = confirmChannel(broker);
    publish(channel);
    const waited = recorder<void>();
    channel.waitForConfirms(waited.pending);
    publish(channel);
    broker.send(1, new BasicAck(1, false));
    expect(waited.result.settled).toBe(1);
  });
});

describe('blocked and flow', () => {
  test('publishes wait while blocked but acks go out', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    broker.send(0, new ConnectionBlocked('low on memory'));
    const published = recorder<void>();
    channel.publish('', 'q', new Uint8Array([1]), {}, false, false, published.pending);
    channel.ack(1, false);
    expect(broker.takeMethods().map((method) => method.id)).toEqual([MethodId.BasicAck]);
    expect(published.result.settled).toBe(0);

    broker.send(0, new ConnectionUnblocked());
    expect(broker.takeMethods().map((method) => method.id)).toEqual([MethodId.BasicPublish]);
    expect(published.result.settled).toBe(1);
  });

  test('many held publishes go out in order', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    broker.send(0, new ConnectionBlocked('low on memory'));
    const count = 300_000;
    for (let index = 0; index < count; index++) channel.publish('', `q${index % 7}`, new Uint8Array([index & 0xff]), {}, false, false);
    expect(broker.takeMethods()).toEqual([]);

    // A spread of this many entries into push() overflowed the stack, and a shift() per entry
    // took minutes.
    const start = performance.now();
    broker.send(0, new ConnectionUnblocked());
    expect(performance.now() - start).toBeLessThan(10_000);
    const methods = broker.takeMethods();
    expect(methods).toHaveLength(count);
    expect(methods.every((method) => method.id === MethodId.BasicPublish)).toBe(true);
    expect((methods[0] as { routingKey: string }).routingKey).toBe('q0');
    expect((methods[count - 1] as { routingKey: string }).routingKey).toBe(`q${(count - 1) % 7}`);
  });

  test('blocked too long closes the connection', () => {
    const broker = new ScriptedBroker({ blockedConnectionTimeout: 3000 });
    broker.open(new ConnectionTune(2047, 131072, 0));
    const channel = broker.openChannel();
    broker.send(0, new ConnectionBlocked('low on memory'));
    const published = recorder<void>();
    channel.publish('', 'q', new Uint8Array([1]), {}, false, false, published.pending);

    expect(broker.engine.nextTimerAt).toBe(0);
    broker.engine.tick(100);
    expect(broker.engine.nextTimerAt).toBe(3100);
    broker.engine.tick(3100);
    expect(broker.events.at(-1)).toBe('close:BLOCKED_TIMEOUT');
    expect(published.result).toMatchObject({ settled: 1, error: { code: 'BLOCKED_TIMEOUT' } });
    const close = broker.takeMethods().at(-1);
    expect(close?.id).toBe(MethodId.ConnectionClose);
  });

  test('requests after a held publish keep their order', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    broker.send(0, new ConnectionBlocked('low on memory'));
    channel.publish('', 'q', new Uint8Array([1]), {}, false, false);
    const commit = recorder<AnyMethod>();
    channel.request(new TxCommit(), commit.pending);
    expect(broker.takeMethods()).toEqual([]);

    broker.send(0, new ConnectionUnblocked());
    expect(broker.takeMethods().map((method) => method.id)).toEqual([MethodId.BasicPublish, MethodId.TxCommit]);
  });

  test('publish waits behind a commit on the wire', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    const commit = recorder<AnyMethod>();
    channel.request(new TxCommit(), commit.pending);
    channel.publish('', 'q', new Uint8Array([1]), {}, false, false);
    expect(broker.takeMethods().map((method) => method.id)).toEqual([MethodId.TxCommit]);
    broker.send(1, new TxCommitOk());
    expect(broker.takeMethods().map((method) => method.id)).toEqual([MethodId.BasicPublish]);
  });

  test('closing channel rejects held publishes', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    broker.send(0, new ConnectionBlocked('low on memory'));
    const published = recorder<void>();
    channel.publish('', 'q', new Uint8Array([1]), {}, false, false, published.pending);
    channel.close(recorder<void>().pending);
    expect(published.result).toMatchObject({ settled: 1, error: { code: 'CHANNEL_CLOSED' } });
    broker.send(0, new ConnectionUnblocked());
    expect(broker.takeMethods().map((method) => method.id)).toEqual([MethodId.ChannelClose]);
  });

  test('channel flow pauses and resumes publishing', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    broker.send(1, new ChannelFlow(false));
    expect(broker.takeMethods()).toMatchObject([{ id: MethodId.ChannelFlowOk, active: false }]);
    channel.publish('', 'q', new Uint8Array([1]), {}, false, false);
    expect(broker.takeMethods()).toEqual([]);
    broker.send(1, new ChannelFlow(true));
    expect(broker.takeMethods().map((method) => method.id)).toEqual([MethodId.ChannelFlowOk, MethodId.BasicPublish]);
  });
});

describe('update secret', () => {
  test('resolves on update-secret-ok', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const updated = recorder<void>();
    broker.engine.updateSecret('new token', 'refresh', updated.pending);
    expect(broker.takeMethods()).toMatchObject([{ id: MethodId.ConnectionUpdateSecret, newSecret: 'new token', reason: 'refresh' }]);
    broker.send(0, new ConnectionUpdateSecretOk());
    expect(updated.result.settled).toBe(1);
  });
});

describe('content assembly', () => {
  function deliver(broker: ScriptedBroker, body: Uint8Array, frameMax = 131072): void {
    const chunks: Uint8Array[] = [];
    encodeContentFrames(
      broker.writer,
      1,
      new BasicDeliver('ctag', 1, false, 'exchange', 'key'),
      60,
      { contentType: 'text/plain', headers: { n: 1 } },
      body,
      frameMax,
      chunks,
    );
    const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    broker.sendBytes(bytes);
  }

  function consume(broker: ScriptedBroker, channel: ChannelEngine): Message[] {
    const messages: Message[] = [];
    const started = recorder<string>();
    channel.consume(BasicConsume.from({ queue: 'q' }), { onMessage: (message) => messages.push(message) }, started.pending);
    broker.takeMethods();
    broker.send(1, new BasicConsumeOk('ctag'));
    expect(started.result.value).toBe('ctag');
    return messages;
  }

  test('body in one frame is a view of the received bytes', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    const messages = consume(broker, channel);
    deliver(broker, new TextEncoder().encode('hello'));
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(new TextDecoder().decode(message!.body)).toBe('hello');
    expect(message).toMatchObject({ consumerTag: 'ctag', deliveryTag: 1, exchange: 'exchange', routingKey: 'key', properties: { contentType: 'text/plain', headers: { n: 1 } } });
  });

  test('deliveries sharing one chunk decode whole', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    const messages = consume(broker, channel);
    const chunks: Uint8Array[] = [];
    for (let tag = 1; tag <= 3; tag++) {
      const properties = { messageId: `m${tag}`, headers: { tag, nested: { list: [tag, 'x'.repeat(tag)] } } };
      encodeContentFrames(broker.writer, 1, new BasicDeliver('ctag', tag, false, '', `key${tag}`), 60, properties, new Uint8Array(tag).fill(tag), 131072, chunks);
    }
    broker.sendBytes(concatBytes(chunks));

    expect(messages.map((message) => message.deliveryTag)).toEqual([1, 2, 3]);
    for (const [index, message] of messages.entries()) {
      const tag = index + 1;
      expect(message.routingKey).toBe(`key${tag}`);
      expect(message.properties).toEqual({ messageId: `m${tag}`, headers: { tag, nested: { list: [tag, 'x'.repeat(tag)] } } });
      expect([...message.body]).toEqual(new Array<number>(tag).fill(tag));
    }
  });

  test('truncated header closes with 502 though the chunk goes on', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    const messages = consume(broker, channel);
    broker.send(1, new BasicDeliver('ctag', 1, false, '', 'q'));
    const header = new Writer();
    header.begin();
    header.uint16(60);
    header.uint16(0);
    header.uint64(4);
    header.uint16(0x2000); // headers present
    header.uint32(20); // a 20-byte table, but the payload ends here
    // The body frame that follows contains more than 20 bytes, which the table must not reach into.
    broker.sendBytes(concatBytes([frame(2, 1, header.finish()), frame(3, 1, new Uint8Array(40))]));

    expect(broker.takeMethods()).toMatchObject([{ id: MethodId.ConnectionClose, replyCode: 502 }]);
    expect(broker.events.at(-1)).toBe('close:FRAME_TRUNCATED');
    expect(messages).toEqual([]);
  });

  test('body over several frames is reassembled', () => {
    const broker = new ScriptedBroker({ frameMax: 4096 });
    broker.open(new ConnectionTune(0, 4096, 0));
    const channel = broker.openChannel();
    const messages = consume(broker, channel);
    const body = new Uint8Array(10_000).map((_, index) => index % 251);
    deliver(broker, body, 4096);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.body).toEqual(body);
  });

  test('straddling body frames land in the body', () => {
    const broker = new ScriptedBroker({ frameMax: 4096 });
    broker.open(new ConnectionTune(0, 4096, 0));
    const channel = broker.openChannel();
    const messages = consume(broker, channel);
    const body = new Uint8Array(40_000).map((_, index) => index % 253);
    const chunks: Uint8Array[] = [];
    encodeContentFrames(broker.writer, 1, new BasicDeliver('ctag', 1, false, '', 'q'), 60, {}, body, 4096, chunks);
    const bytes = concatBytes(chunks);

    const allocations = recordAllocations(() => {
      for (let start = 0; start < bytes.length; start += 1000) broker.sendBytes(bytes.slice(start, start + 1000));
    });

    expect(messages).toHaveLength(1);
    expect(messages[0]!.body).toEqual(body);
    // The body is allocated with its first frame, and every frame of 4088 bytes lands in it
    // without a copy of its own.
    expect(allocations.filter((length) => length >= 1000)).toEqual([40_000]);
  });

  test('reused chunk leaves messages intact', () => {
    const bodies = [new Uint8Array([1, 2, 3]), new Uint8Array(10_000).map((_, index) => index % 251), new Uint8Array(0)];
    const propertiesOf = (index: number) => ({ messageId: `m${index}`, headers: { raw: new Uint8Array([index, 9]) } });
    const chunks: Uint8Array[] = [];
    const writer = new Writer();
    for (const [index, body] of bodies.entries()) {
      encodeContentFrames(writer, 1, new BasicDeliver('ctag', index + 1, false, '', 'q'), 60, propertiesOf(index), body, 4096, chunks);
    }
    const bytes = concatBytes(chunks);

    // Sizes of 1 to 40 bytes put chunk boundaries inside frame headers, payloads and end octets.
    for (const size of [1, 7, 13, 40, 1000]) {
      const allocated: number[] = [];
      const broker = new ScriptedBroker({ frameMax: 4096 }, (length) => {
        allocated.push(length);
        return new Uint8Array(length);
      });
      broker.open(new ConnectionTune(0, 4096, 0));
      const messages = consume(broker, broker.openChannel());
      const buffer = new Uint8Array(size);
      for (let start = 0; start < bytes.length; start += size) {
        const part = bytes.subarray(start, start + size);
        buffer.set(part);
        broker.engine.receive(buffer.subarray(0, part.length), 0, true);
        buffer.fill(0xee);
      }

      expect(messages.map((message) => [...message.body]), `chunks of ${size}`).toEqual(bodies.map((body) => [...body]));
      expect(messages.map((message) => message.properties)).toEqual(bodies.map((_, index) => propertiesOf(index)));
      // Only the one-frame body is copied into memory from `allocate`, when its frame lies in
      // one chunk, as it does in chunks of 1000 bytes. Every other payload is copied anyway.
      expect(allocated.filter((length) => length !== 3)).toEqual([]);
      if (size === 1000) expect(allocated).toEqual([3]);
    }
  });

  test('empty body needs no body frame', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    const messages = consume(broker, channel);
    deliver(broker, new Uint8Array(0));
    expect(messages).toHaveLength(1);
    expect(messages[0]!.body.length).toBe(0);
  });

  test('get resolves with the message, then null', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    const first = recorder<Message | null>();
    channel.get(BasicGet.from({ queue: 'q' }), first.pending);
    const chunks: Uint8Array[] = [];
    encodeContentFrames(broker.writer, 1, new BasicGetOk(9, true, '', 'q', 4), 60, {}, new Uint8Array([1, 2]), 131072, chunks);
    for (const chunk of chunks) broker.sendBytes(chunk.slice());
    expect(first.result.value).toMatchObject({ deliveryTag: 9, redelivered: true, messageCount: 4, body: new Uint8Array([1, 2]) });

    const second = recorder<Message | null>();
    channel.get(BasicGet.from({ queue: 'q' }), second.pending);
    broker.send(1, new BasicGetEmpty());
    expect(second.result).toMatchObject({ settled: 1, value: null });
  });

  test('body larger than announced closes with 505', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    consume(broker, channel);
    broker.send(1, new BasicDeliver('ctag', 1, false, '', 'q'));
    const header = new Writer();
    header.begin();
    header.uint16(60);
    header.uint16(0);
    header.uint64(1);
    header.uint16(0);
    const payload = header.finish();
    broker.sendBytes(frame(2, 1, payload));
    broker.sendBytes(frame(3, 1, new Uint8Array(2)));
    expect(broker.takeMethods()).toMatchObject([{ id: MethodId.ConnectionClose, replyCode: 505 }]);
  });

  test('method between header and body closes with 505', () => {
    const broker = new ScriptedBroker();
    broker.open();
    const channel = broker.openChannel();
    consume(broker, channel);
    broker.send(1, new BasicDeliver('ctag', 1, false, '', 'q'));
    broker.send(1, new BasicDeliver('ctag', 2, false, '', 'q'));
    expect(broker.takeMethods()).toMatchObject([{ id: MethodId.ConnectionClose, replyCode: 505 }]);
    expect(broker.events.at(-1)).toBe('close:FRAME_UNEXPECTED');
  });

  test('announced body is not allocated up front', () => {
    const broker = new ScriptedBroker({ maxMessageSize: 2 ** 32 });
    broker.open();
    const channel = broker.openChannel();
    const messages = consume(broker, channel);
    const before = process.memoryUsage().arrayBuffers;

    broker.send(1, new BasicDeliver('ctag', 1, false, '', 'q'));
    const header = new Writer();
    header.begin();
    header.uint16(60);
    header.uint16(0);
    header.uint64(2 ** 32);
    header.uint16(0);
    broker.sendBytes(frame(2, 1, header.finish()));
    broker.sendBytes(frame(3, 1, new Uint8Array(1)));

    // Only the byte received is held, not the 4 GiB announced.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
    expect(broker.engine.state).toBe('open');
    expect(messages).toEqual([]);
  });

  test('announced body over maxMessageSize closes before allocating', () => {
    const broker = new ScriptedBroker({ maxMessageSize: 1000 });
    broker.open();
    const channel = broker.openChannel();
    consume(broker, channel);
    broker.send(1, new BasicDeliver('ctag', 1, false, '', 'q'));
    const header = new Writer();
    header.begin();
    header.uint16(60);
    header.uint16(0);
    header.uint64(2 ** 40);
    header.uint16(0);
    broker.sendBytes(frame(2, 1, header.finish()));
    expect(broker.events.at(-1)).toBe('close:MESSAGE_TOO_LARGE');
  });
});

function frame(type: number, channel: number, payload: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(payload.length + 8);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, type);
  view.setUint16(1, channel);
  view.setUint32(3, payload.length);
  bytes.set(payload, 7);
  bytes[bytes.length - 1] = 0xce;
  return bytes;
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}
