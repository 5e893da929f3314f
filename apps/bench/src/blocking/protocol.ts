/** The request that the blocking benchmark's runner sends to a child process, and the child's result. */

/** Clients of the blocking benchmark, as given to `--clients`. */
export const BLOCKING_CLIENT_NAMES = ['warren-blocking', 'warren-async', 'pika'] as const;

export type BlockingClientName = (typeof BLOCKING_CLIENT_NAMES)[number];

export interface BlockingChildRequest {
  url: string;
  /** A fresh queue for this child; the child declares it and deletes it at the end. */
  queue: string;
  publishCount: number;
  bodySize: number;
  /** Measured passive `queue.declare` calls, after `warmupCount` that are not measured. */
  callCount: number;
  warmupCount: number;
}

export interface BlockingChildResult {
  /** Library and version, such as `pika 1.2.0`. */
  library: string;
  publish: {
    messages: number;
    seconds: number;
    /** User plus system CPU time of the process during the phase, in microseconds. */
    cpuMicros: number;
  };
  /** Latency of one passive `queue.declare`, in microseconds. */
  call: { p50: number; p99: number };
  /**
   * Only for `warren-blocking`: the same call made alternately through the blocking adapter
   * and through `@warren/adapter-node` in one process, so that both see the same load on a
   * shared machine. `overhead` is the median of the per-pair differences, blocking minus
   * async, in microseconds.
   */
  paired?: { blockingP50: number; asyncP50: number; overheadP50: number };
}
