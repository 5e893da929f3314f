/** Times the encoder and decoder of one codec, without a broker. */
import type { ClientName } from '../clients/client.js';
import { PhaseTimer, type PhaseResult } from '../workloads.js';
import { BENCH_HEADER_COUNT } from '../headers.js';
import { CODEC_DELIVERY_TAG, type Codec, makeCodecBody } from './message.js';

/** Clients whose codec the benchmark can load. */
export const CODEC_CLIENTS: readonly ClientName[] = ['warren', 'amqplib'];

async function loadCodec(client: ClientName): Promise<Codec> {
  if (client === 'warren') return (await import('./warren.js')).createCodec();
  if (client === 'amqplib') return (await import('./amqplib.js')).createCodec();
  throw new Error(`no codec benchmark for client ${client}; expected one of ${CODEC_CLIENTS.join(', ')}`);
}

/**
 * Runs `count` encodes, then `count` decodes, each after `count / 10` untimed ones that let the
 * JIT compile the code, and returns the phases `codec-encode` and `codec-decode`.
 */
export async function runCodecBenchmark(client: ClientName, count: number): Promise<PhaseResult[]> {
  const codec = await loadCodec(client);
  checkDecoder(codec);

  const encode = await timeOperation('codec-encode', count, () => codec.encodePublish());
  const decode = await timeOperation('codec-decode', count, () => codec.decodeDelivery());
  return [encode, decode];
}

/** Checks that the codec decodes the delivery to the expected tag, header count and body size. */
function checkDecoder(codec: Codec): void {
  const expected = CODEC_DELIVERY_TAG + BENCH_HEADER_COUNT + makeCodecBody().length;
  const checksum = codec.decodeDelivery();
  if (checksum !== expected) throw new Error(`decoding the benchmark delivery gave checksum ${checksum}; expected ${expected}`);
}

async function timeOperation(name: string, count: number, operation: () => number): Promise<PhaseResult> {
  let checksum = 0;
  const warmup = Math.max(1, Math.floor(count / 10));
  for (let index = 0; index < warmup; index++) checksum += operation();

  const timer = new PhaseTimer(name);
  await timer.time(async () => {
    for (let index = 0; index < count; index++) checksum += operation();
  });
  if (checksum === 0) throw new Error(`${name} returned only zeros`);
  return timer.result(count, 0);
}
