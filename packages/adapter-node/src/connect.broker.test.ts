/**
 * Connecting to RabbitMQ at AMQP_URL, by default amqp://guest:guest@127.0.0.1:5672: SASL
 * mechanisms, several endpoints, logging and the frame trace. RabbitMQ 3.10 offers PLAIN and
 * AMQPLAIN by default (`rabbitmqctl environment` lists `{auth_mechanisms,['PLAIN','AMQPLAIN']}`),
 * and EXTERNAL only with the rabbitmq_auth_mechanism_ssl plugin, which these tests do not expect.
 */
import { type AddressInfo, createServer, type Server } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  type ConnectOptions,
  type Connection,
  type FrameDirection,
  type LogFields,
  type Logger,
  type SaslMechanism,
  amqplainMechanism,
  connect,
  parseUrl,
} from './index.js';

const BROKER_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
const BROKER = parseUrl(BROKER_URL);
const BROKER_USER = BROKER.username ?? 'guest';
const BROKER_PASSWORD = BROKER.password ?? 'guest';
const BROKER_ENDPOINT = `amqp://${encodeURIComponent(BROKER_USER)}@${BROKER.hostname ?? '127.0.0.1'}:${BROKER.port ?? 5672}/${encodeURIComponent(BROKER.vhost ?? '/')}`;

const connections: Connection[] = [];
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(connections.splice(0).map((connection) => connection.close()));
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function open(options: ConnectOptions | string[]): Promise<Connection> {
  const connection = await connect(Array.isArray(options) ? options : { url: BROKER_URL, ...options });
  connections.push(connection);
  return connection;
}

/** Proves that the connection works: declares a queue, publishes to it and gets the message back. */
async function roundTrip(connection: Connection): Promise<string> {
  const channel = await connection.channel();
  const { queue } = await channel.queueDeclare('', { exclusive: true });
  await channel.basicPublish('', queue, 'ping');
  const message = await channel.basicGet(queue, { noAck: true });
  return message?.body.toString() ?? 'no message';
}

/** Starts a TCP server on 127.0.0.1 that accepts and ignores connections, and counts them. */
async function silentServer(): Promise<{ port: number; connections: () => number }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.resume();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, connections: () => count };
}

async function refusedPort(): Promise<number> {
  const { port } = await silentServer();
  await new Promise((resolve) => servers.pop()!.close(resolve));
  return port;
}

function recordingLogger(): Logger & { lines: { level: string; message: string; fields: LogFields | undefined }[] } {
  const lines: { level: string; message: string; fields: LogFields | undefined }[] = [];
  const record = (level: string) => (message: string, fields?: LogFields) => lines.push({ level, message, fields });
  return { lines, debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
}

function traceRecorder(): { lines: string[]; frameTrace: (direction: FrameDirection, channel: number, description: string) => void } {
  const lines: string[] = [];
  return { lines, frameTrace: (direction, channel, description) => lines.push(`${direction} ch${channel} ${description}`) };
}

describe('SASL mechanisms', () => {
  test('AMQPLAIN by option authenticates', async () => {
    const trace = traceRecorder();

    const connection = await open({ mechanism: 'AMQPLAIN', frameTrace: trace.frameTrace });

    await expect(roundTrip(connection)).resolves.toBe('ping');
    expect(trace.lines.find((line) => line.startsWith('out ch0 connection.start-ok'))).toContain('mechanism="AMQPLAIN"');
  });

  test('AMQPLAIN by URL authenticates', async () => {
    const separator = BROKER_URL.includes('?') ? '&' : '?';
    const trace = traceRecorder();

    const connection = await connect({ url: `${BROKER_URL}${separator}auth_mechanism=amqplain`, frameTrace: trace.frameTrace });
    connections.push(connection);

    await expect(roundTrip(connection)).resolves.toBe('ping');
    expect(trace.lines.find((line) => line.startsWith('out ch0 connection.start-ok'))).toContain('mechanism="AMQPLAIN"');
  });

  test('AMQPLAIN with a wrong password is refused', async () => {
    await expect(connect({ url: BROKER_URL, mechanism: 'AMQPLAIN', password: 'wrong-password' })).rejects.toMatchObject({
      code: 'AUTHENTICATION_FAILED',
      replyCode: 403,
      message: expect.stringContaining('AMQPLAIN'),
    });
  });

  test('mechanism object from the adapter', async () => {
    const connection = await open({ mechanism: amqplainMechanism(BROKER_USER, BROKER_PASSWORD) });

    await expect(roundTrip(connection)).resolves.toBe('ping');
  });

  test('user-written mechanism', async () => {
    const mechanism: SaslMechanism = {
      name: 'PLAIN',
      initialResponse: () => new TextEncoder().encode(`\u0000${BROKER_USER}\u0000${BROKER_PASSWORD}`),
    };

    const connection = await open({ mechanism });

    await expect(roundTrip(connection)).resolves.toBe('ping');
  });

  test('EXTERNAL is not offered without the plugin', async () => {
    await expect(connect({ url: BROKER_URL, mechanism: 'EXTERNAL' })).rejects.toMatchObject({
      code: 'AUTH_MECHANISM_UNSUPPORTED',
      message: expect.stringMatching(/does not offer SASL mechanism EXTERNAL; it offers .*PLAIN/),
    });
  });
});

describe('several endpoints', () => {
  test('broker as the last endpoint', async () => {
    const refused = await refusedPort();
    const silent = await silentServer();
    const logger = recordingLogger();

    const connection = await open({
      url: undefined,
      endpoints: [`amqp://127.0.0.1:${refused}`, { hostname: '127.0.0.1', port: silent.port }, BROKER_URL],
      username: BROKER_USER,
      password: BROKER_PASSWORD,
      connectionTimeout: 300,
      logger,
    });

    expect(connection.endpoint).toBe(BROKER_ENDPOINT);
    await expect(roundTrip(connection)).resolves.toBe('ping');
    expect(logger.lines.filter((line) => line.level === 'warn').map((line) => line.fields?.code)).toEqual(['CONNECT_FAILED', 'CONNECT_TIMEOUT']);
    expect(logger.lines.filter((line) => line.level === 'info').map((line) => line.message)).toEqual([`connected to ${BROKER_ENDPOINT}`]);
  });

  test('refused credentials stop the attempts', async () => {
    const next = await silentServer();

    await expect(
      connect({ endpoints: [BROKER_URL, `amqp://127.0.0.1:${next.port}`], password: 'wrong-password', connectionAttempts: 3, retryDelay: 10 }),
    ).rejects.toMatchObject({ code: 'AUTHENTICATION_FAILED' });
    expect(next.connections()).toBe(0);
  });
});

describe('logging', () => {
  test('nothing is logged by default', async () => {
    const refused = await refusedPort();
    const spies = [
      ...(['debug', 'info', 'log', 'warn', 'error', 'trace'] as const).map((method) => vi.spyOn(console, method)),
      vi.spyOn(process, 'emitWarning'),
    ];

    try {
      const connection = await connect({ endpoints: [`amqp://127.0.0.1:${refused}`, BROKER_URL], frameTrace: true });
      await roundTrip(connection);
      await connection.close();
      await connect({ url: BROKER_URL, password: 'wrong-password' }).catch(() => {});
    } finally {
      for (const spy of spies) spy.mockRestore();
    }

    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  });

  test('open and close are logged at info', async () => {
    const logger = recordingLogger();

    const connection = await connect({ url: BROKER_URL, logger });
    await connection.close();

    expect(logger.lines.filter((line) => line.level !== 'debug')).toEqual([
      { level: 'info', message: `connected to ${BROKER_ENDPOINT}`, fields: { endpoint: BROKER_ENDPOINT, heartbeat: expect.any(Number), frameMax: expect.any(Number), channelMax: expect.any(Number) } },
      { level: 'info', message: `closed the connection to ${BROKER_ENDPOINT}`, fields: { endpoint: BROKER_ENDPOINT } },
    ]);
  });

  test('broker close is logged at error', async () => {
    const logger = recordingLogger();
    const connection = await open({ logger });
    const channel = await connection.channel();

    // RabbitMQ closes the connection with 503 COMMAND_INVALID for an unknown exchange type.
    await expect(channel.exchangeDeclare('warren-test.bad-type', 'no-such-type')).rejects.toMatchObject({ replyCode: 503 });
    await connection.closed;

    const errors = logger.lines.filter((line) => line.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(new RegExp(`^the connection to ${BROKER_ENDPOINT.replace(/[.?*+^$()[\]{}|\\/]/g, '\\$&')} ended: exchange.declare: COMMAND_INVALID`));
    expect(errors[0]!.fields).toEqual({ endpoint: BROKER_ENDPOINT, code: 'CONNECTION_CLOSED_BY_BROKER' });
  });
});

describe('frame trace', () => {
  test('shows the handshake and a publish', async () => {
    const trace = traceRecorder();

    const connection = await open({ frameTrace: trace.frameTrace });
    const channel = await connection.channel();
    await channel.basicPublish('', 'warren-test.no-such-queue', 'hello');
    await connection.close();

    const methods = trace.lines.map((line) => line.split(' ').slice(0, 3).join(' '));
    expect(methods.slice(0, 8)).toEqual([
      'out ch0 protocol',
      'in ch0 connection.start',
      'out ch0 connection.start-ok',
      'in ch0 connection.tune',
      'out ch0 connection.tune-ok',
      'out ch0 connection.open',
      'in ch0 connection.open-ok',
      'out ch1 channel.open',
    ]);
    expect(trace.lines).toContain('out ch0 protocol header AMQP 0-9-1');
    expect(trace.lines).toContain(`out ch0 connection.open virtualHost=${JSON.stringify(BROKER.vhost ?? '/')}`);
    expect(trace.lines).toContain('out ch1 basic.publish exchange="" routingKey="warren-test.no-such-queue" mandatory=false immediate=false');
    expect(trace.lines).toContain('out ch1 content header 5 bytes');
    expect(trace.lines).toContain('out ch1 content body 5 bytes');
    expect(trace.lines.at(-1)).toBe('in ch0 connection.close-ok');
  });

  test('hides the SASL response', async () => {
    const trace = traceRecorder();

    await open({ frameTrace: trace.frameTrace, password: BROKER_PASSWORD });

    const startOk = trace.lines.find((line) => line.startsWith('out ch0 connection.start-ok'));
    expect(startOk).toContain('response=<hidden>');
    expect(startOk).not.toContain(BROKER_PASSWORD);
  });

  test('true sends each frame to logger.debug', async () => {
    const logger = recordingLogger();

    await open({ frameTrace: true, logger });

    const frames = logger.lines.filter((line) => line.level === 'debug' && /^(in|out) ch\d+ /.test(line.message));
    expect(frames[0]?.message).toBe('out ch0 protocol header AMQP 0-9-1');
    expect(frames.map((line) => line.message.split(' ')[2])).toContain('connection.open-ok');
  });
});

describe('inspecting a connection', () => {
  test('shows the endpoint and state only', async () => {
    const connection = await open({});

    const text = inspect(connection, { showHidden: true, depth: Infinity });

    expect(text.replace(/\s+/g, ' ')).toBe(`Connection { endpoint: '${BROKER_ENDPOINT}', state: 'open', blocked: false }`);
  });
});
