/**
 * TLS against RabbitMQ at AMQP_URL, by default amqp://guest:guest@127.0.0.1:5672, through a TLS
 * proxy that each test starts on 127.0.0.1. The proxy terminates TLS with a throwaway
 * self-signed certificate for `localhost` and 127.0.0.1, made with the `openssl` command, and
 * pipes each connection to the broker's plain AMQP port, so the broker's configuration stays
 * untouched. Without `openssl` on the PATH the tests are skipped.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, type Socket, connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TLSSocket, type TlsOptions as ServerTlsOptions, createServer as createTlsServer, type Server } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { type ConnectOptions, type Connection, ConnectionError, connect, parseUrl } from './index.js';

const BROKER_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
const BROKER = parseUrl(BROKER_URL);
const CREDENTIALS = `${encodeURIComponent(BROKER.username ?? 'guest')}:${encodeURIComponent(BROKER.password ?? 'guest')}`;

const OPENSSL_AVAILABLE = spawnSync('openssl', ['version']).status === 0;
if (!OPENSSL_AVAILABLE) console.warn('tls.broker.test.ts: skipped, because the openssl command is not on the PATH');

/** What the proxy saw of one client connection. */
interface ProxiedConnection {
  /** SNI host name that the client sent, or false for none. */
  servername: string | false;
  /** Whether the client presented a certificate that the proxy trusts. */
  clientAuthorized: boolean;
}

interface Proxy {
  port: number;
  seen: ProxiedConnection[];
}

let folder: string;
let serverCert: Buffer;
let serverKey: Buffer;
let clientCert: Buffer;
let clientKey: Buffer;
let clientPfx: Buffer;
const CLIENT_PFX_PASSPHRASE = 'pfx-passphrase';

const servers: Server[] = [];
const connections: Connection[] = [];

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: folder, stdio: 'pipe' });
}

beforeAll(() => {
  if (!OPENSSL_AVAILABLE) return;
  folder = mkdtempSync(join(tmpdir(), 'warren-tls-'));

  // Each certificate is its own CA: it is self-signed, so trusting it means passing it as `ca`.
  const selfSigned = (name: string, subject: string, extension: string) =>
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', subject, '-addext', extension);
  selfSigned('server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  selfSigned('client', '/CN=warren-test-client', 'extendedKeyUsage=clientAuth');
  openssl('pkcs12', '-export', '-inkey', 'client.key', '-in', 'client.crt', '-passout', `pass:${CLIENT_PFX_PASSPHRASE}`, '-out', 'client.p12');

  serverCert = readFileSync(join(folder, 'server.crt'));
  serverKey = readFileSync(join(folder, 'server.key'));
  clientCert = readFileSync(join(folder, 'client.crt'));
  clientKey = readFileSync(join(folder, 'client.key'));
  clientPfx = readFileSync(join(folder, 'client.p12'));
});

afterAll(() => {
  if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
});

afterEach(async () => {
  await Promise.all(connections.splice(0).map((connection) => connection.close()));
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** Starts a TLS proxy on 127.0.0.1 in front of the broker's plain AMQP port. */
async function startProxy(options: ServerTlsOptions = {}): Promise<Proxy> {
  const seen: ProxiedConnection[] = [];
  const server = createTlsServer({ key: serverKey, cert: serverCert, ...options }, (client: TLSSocket) => {
    seen.push({ servername: client.servername ?? false, clientAuthorized: client.authorized });
    const broker: Socket = connectTcp({ host: BROKER.hostname ?? '127.0.0.1', port: BROKER.port ?? 5672 });
    client.pipe(broker).pipe(client);
    client.on('error', () => broker.destroy());
    broker.on('error', () => client.destroy());
    client.on('close', () => broker.destroy());
    broker.on('close', () => client.destroy());
  });
  // A client that rejects the certificate aborts the handshake, which the server reports here.
  server.on('tlsClientError', () => {});
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, seen };
}

async function open(options: ConnectOptions): Promise<Connection> {
  const connection = await connect({ vhost: BROKER.vhost, ...options });
  connections.push(connection);
  return connection;
}

/** Proves that the connection works: declares a queue, publishes to it and gets the message back. */
async function roundTrip(connection: Connection): Promise<string> {
  const channel = await connection.channel();
  const { queue } = await channel.queueDeclare('', { exclusive: true });
  await channel.basicPublish('', queue, 'over TLS');
  const message = await channel.basicGet(queue, { noAck: true });
  return message?.body.toString() ?? 'no message';
}

describe.skipIf(!OPENSSL_AVAILABLE)('TLS', () => {
  test('trusted certificate works end to end', async () => {
    const proxy = await startProxy();

    const connection = await open({ url: `amqps://${CREDENTIALS}@localhost:${proxy.port}`, tls: { ca: serverCert } });

    expect(connection.endpoint).toMatch(new RegExp(`^amqps://[^:@]+@localhost:${proxy.port}/`));
    await expect(roundTrip(connection)).resolves.toBe('over TLS');
  });

  test('large messages cross intact', async () => {
    const proxy = await startProxy();
    const connection = await open({ url: `amqps://${CREDENTIALS}@localhost:${proxy.port}`, tls: { ca: serverCert }, writeHighWaterMark: 64 * 1024 });
    const channel = await connection.channel();
    const { queue } = await channel.queueDeclare('', { exclusive: true });
    const bodies = Array.from({ length: 4 }, (_, index) => Buffer.alloc(3 * 1024 * 1024 + index, index + 1));

    for (const body of bodies) await channel.basicPublish('', queue, body);

    for (const body of bodies) {
      const message = await channel.basicGet(queue, { noAck: true });
      expect(message?.body.equals(body)).toBe(true);
    }
  });

  test('SNI carries the host name', async () => {
    const proxy = await startProxy();

    await open({ url: `amqps://${CREDENTIALS}@localhost:${proxy.port}`, tls: { ca: serverCert } });

    expect(proxy.seen).toEqual([{ servername: 'localhost', clientAuthorized: false }]);
  });

  test('no SNI for an IP address', async () => {
    const proxy = await startProxy();

    await open({ url: `amqps://${CREDENTIALS}@127.0.0.1:${proxy.port}`, tls: { ca: serverCert } });

    expect(proxy.seen.map((seen) => seen.servername)).toEqual([false]);
  });

  test('server_name_indication=disable sends no SNI', async () => {
    const proxy = await startProxy();

    await open({ url: `amqps://${CREDENTIALS}@localhost:${proxy.port}?server_name_indication=disable`, tls: { ca: serverCert } });

    expect(proxy.seen.map((seen) => seen.servername)).toEqual([false]);
  });

  test('cacertfile URL parameter is read', async () => {
    const proxy = await startProxy();

    const connection = await open({ url: `amqps://${CREDENTIALS}@localhost:${proxy.port}?cacertfile=${encodeURIComponent(join(folder, 'server.crt'))}` });

    await expect(roundTrip(connection)).resolves.toBe('over TLS');
  });

  test('untrusted certificate is rejected by default', async () => {
    const proxy = await startProxy();

    const error = await connect(`amqps://${CREDENTIALS}@localhost:${proxy.port}`).catch((error: unknown) => error);

    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({
      code: 'TLS_HANDSHAKE_FAILED',
      source: 'network',
      retryable: false,
      message: expect.stringContaining(`TLS handshake with localhost:${proxy.port} failed: self-signed certificate; pass the CA`),
      cause: expect.objectContaining({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
    });
  });

  test('certificate of another host is rejected', async () => {
    const proxy = await startProxy();

    await expect(
      connect({ url: `amqps://${CREDENTIALS}@localhost:${proxy.port}`, tls: { ca: serverCert, servername: 'rabbit.example' } }),
    ).rejects.toMatchObject({
      code: 'TLS_HANDSHAKE_FAILED',
      retryable: false,
      cause: expect.objectContaining({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }),
    });
    expect(proxy.seen).toEqual([]);
  });

  test('rejectUnauthorized false accepts it', async () => {
    const proxy = await startProxy();

    const connection = await open({ url: `amqps://${CREDENTIALS}@localhost:${proxy.port}`, tls: { rejectUnauthorized: false } });

    await expect(roundTrip(connection)).resolves.toBe('over TLS');
  });

  test('verify=verify_none accepts it', async () => {
    const proxy = await startProxy();

    const connection = await open({ url: `amqps://${CREDENTIALS}@localhost:${proxy.port}?verify=verify_none` });

    await expect(roundTrip(connection)).resolves.toBe('over TLS');
  });

  test('client certificate and key', async () => {
    const proxy = await startProxy({ requestCert: true, rejectUnauthorized: true, ca: clientCert });

    const connection = await open({ url: `amqps://${CREDENTIALS}@localhost:${proxy.port}`, tls: { ca: serverCert, cert: clientCert, key: clientKey } });

    await expect(roundTrip(connection)).resolves.toBe('over TLS');
    expect(proxy.seen).toEqual([{ servername: 'localhost', clientAuthorized: true }]);
  });

  test('client certificate as PKCS#12 with passphrase', async () => {
    const proxy = await startProxy({ requestCert: true, rejectUnauthorized: true, ca: clientCert });

    const connection = await open({
      url: `amqps://${CREDENTIALS}@localhost:${proxy.port}`,
      tls: { ca: serverCert, pfx: clientPfx, passphrase: CLIENT_PFX_PASSPHRASE },
    });

    await expect(roundTrip(connection)).resolves.toBe('over TLS');
    expect(proxy.seen.map((seen) => seen.clientAuthorized)).toEqual([true]);
  });

  test('TLS to a plain AMQP port fails the handshake', async () => {
    const url = `amqps://${CREDENTIALS}@${BROKER.hostname ?? '127.0.0.1'}:${BROKER.port ?? 5672}`;

    await expect(connect({ url, connectionTimeout: 5000 })).rejects.toMatchObject({
      code: 'TLS_HANDSHAKE_FAILED',
      retryable: true,
    });
  });
});
