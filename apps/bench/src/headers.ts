/**
 * The application headers of the `headers` workload and the codec benchmark, described
 * independently of any client. Each adapter converts them to its library's representation.
 */

/** A plain value inside a nested table or array, which every client encodes without a type hint. */
export type PlainValue = string | number | boolean;

export type HeaderValue =
  | { type: 'string'; value: string }
  | { type: 'int32'; value: number }
  | { type: 'int64'; value: bigint }
  | { type: 'double'; value: number }
  | { type: 'boolean'; value: boolean }
  | { type: 'timestamp'; value: Date }
  | { type: 'void' }
  | { type: 'table'; value: Record<string, PlainValue> }
  | { type: 'array'; value: PlainValue[] };

export type HeaderSet = Record<string, HeaderValue>;

/** Ten headers of mixed types. */
export const BENCH_HEADERS: HeaderSet = {
  'x-source': { type: 'string', value: 'warren-bench' },
  'x-attempt': { type: 'int32', value: 123_456 },
  'x-sequence': { type: 'int64', value: 2n ** 40n + 7n },
  'x-score': { type: 'double', value: 3.141592653589793 },
  'x-urgent': { type: 'boolean', value: true },
  'x-created': { type: 'timestamp', value: new Date(1_700_000_000_000) },
  'x-parent': { type: 'void' },
  'x-route': { type: 'table', value: { region: 'eu-west', zone: 3, primary: true } },
  'x-tags': { type: 'array', value: ['alpha', 42, false] },
  'x-trace-id': { type: 'string', value: '4bf92f3577b34da6a3ce929d0e0e4736' },
};

/** Number of entries in `BENCH_HEADERS`, which a consumer checks on the first message. */
export const BENCH_HEADER_COUNT = Object.keys(BENCH_HEADERS).length;

/** Seconds since the Unix epoch, for clients that take a timestamp as a number. */
export function toEpochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
