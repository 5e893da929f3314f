/** The part of a socket that the batcher writes to. */
export interface BatchTarget {
  write(chunk: Uint8Array): boolean;
  cork(): void;
  uncork(): void;
}

/** Bytes gathered before they are written at once, without waiting for the end of the tick. */
export const DEFAULT_FLUSH_THRESHOLD = 64 * 1024;

/**
 * Gathers the chunks that the engine sends and writes them to the socket in few large writes.
 *
 * The engine encodes into a slab, so consecutive frames usually lie next to each other in one
 * buffer. The batcher extends the current run of adjacent bytes instead of keeping each chunk,
 * so a turn of the event loop's small publishes or acks becomes one write, not one write per
 * frame. It writes when `threshold` bytes are waiting, which bounds the delay for a publisher
 * that never yields, and otherwise once per turn of the event loop.
 */
export class WriteBatcher {
  readonly #target: BatchTarget;
  readonly #threshold: number;
  #chunks: Uint8Array[] = [];
  #runBuffer: ArrayBufferLike | undefined;
  #runStart = 0;
  #runEnd = 0;
  #pendingBytes = 0;
  #flushScheduled = false;

  constructor(target: BatchTarget, threshold = DEFAULT_FLUSH_THRESHOLD) {
    this.#target = target;
    this.#threshold = threshold;
  }

  /** Bytes accepted but not yet handed to the socket. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  write(chunk: Uint8Array): void {
    if (chunk.buffer === this.#runBuffer && chunk.byteOffset === this.#runEnd) {
      this.#runEnd += chunk.byteLength;
    } else {
      this.#closeRun();
      this.#runBuffer = chunk.buffer;
      this.#runStart = chunk.byteOffset;
      this.#runEnd = chunk.byteOffset + chunk.byteLength;
    }
    this.#pendingBytes += chunk.byteLength;

    if (this.#pendingBytes >= this.#threshold) {
      this.flush();
    } else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // setImmediate runs after every socket read of this turn of the event loop, so the acks
      // for all deliveries received in one turn leave in one write.
      setImmediate(() => {
        this.#flushScheduled = false;
        this.flush();
      });
    }
  }

  /** Hands every waiting byte to the socket. */
  flush(): void {
    this.#closeRun();
    const chunks = this.#chunks;
    if (chunks.length === 0) return;
    this.#chunks = [];
    this.#pendingBytes = 0;

    if (chunks.length === 1) {
      this.#target.write(chunks[0]!);
      return;
    }
    // Corked writes leave in one writev.
    this.#target.cork();
    for (const chunk of chunks) this.#target.write(chunk);
    this.#target.uncork();
  }

  /** Forgets waiting bytes, for a socket that has been destroyed. */
  discard(): void {
    this.#chunks = [];
    this.#runBuffer = undefined;
    this.#pendingBytes = 0;
  }

  #closeRun(): void {
    if (this.#runBuffer === undefined) return;
    this.#chunks.push(new Uint8Array(this.#runBuffer, this.#runStart, this.#runEnd - this.#runStart));
    this.#runBuffer = undefined;
  }
}
