/** The part of a socket that the batcher writes to. */
export interface BatchTarget {
  write(chunk: Uint8Array): boolean;
  /** Bytes written but not yet handed to the operating system, as on a Node.js stream. */
  readonly writableLength: number;
  cork(): void;
  uncork(): void;
}

const EMPTY_CHUNK = new Uint8Array(0);

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
 *
 * Once the socket has handed a chunk to the operating system, the batcher passes it to
 * `onWritten`, which lets the engine's writer reuse the slab. The socket writes in order, so every
 * chunk whose last byte lies within `writableLength` of the end is still waiting, and every
 * earlier one is done. It checks after each flush, which catches a write that completes at once,
 * and whenever `releaseWritten()` is called, such as on the socket's `drain` event.
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
  readonly #onWritten: ((chunk: Uint8Array) => void) | undefined;
  /** Bytes handed to the socket so far. */
  #sentBytes = 0;
  /**
   * Chunks handed to the socket and not yet passed to `onWritten`, oldest first, from index
   * `#inFlightHead`. An index rather than `shift()`, which copies the rest of a long array.
   */
  #inFlight: Uint8Array[] = [];
  /** Value of `#sentBytes` after each chunk of `#inFlight`. */
  #inFlightEnds: number[] = [];
  #inFlightHead = 0;

  constructor(target: BatchTarget, threshold = DEFAULT_FLUSH_THRESHOLD, onWritten?: (chunk: Uint8Array) => void) {
    this.#target = target;
    this.#threshold = threshold;
    this.#onWritten = onWritten;
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
      this.#write(chunks[0]!);
    } else {
      // Corked writes leave in one writev.
      this.#target.cork();
      for (const chunk of chunks) this.#write(chunk);
      this.#target.uncork();
    }
    this.releaseWritten();
  }

  /** Passes every chunk that the socket has handed to the operating system to `onWritten`. */
  releaseWritten(): void {
    const onWritten = this.#onWritten;
    if (onWritten === undefined) return;
    const done = this.#sentBytes - this.#target.writableLength;
    const chunks = this.#inFlight;
    const ends = this.#inFlightEnds;
    let head = this.#inFlightHead;
    while (head < ends.length && ends[head]! <= done) {
      const chunk = chunks[head]!;
      chunks[head] = EMPTY_CHUNK;
      head++;
      onWritten(chunk);
    }

    if (head === ends.length) {
      chunks.length = 0;
      ends.length = 0;
      head = 0;
    } else if (head >= 1024 && head * 2 >= ends.length) {
      // Drop the released half at once, so the arrays stay short under a lasting backlog.
      chunks.splice(0, head);
      ends.splice(0, head);
      head = 0;
    }
    this.#inFlightHead = head;
  }

  #write(chunk: Uint8Array): void {
    this.#target.write(chunk);
    if (this.#onWritten === undefined) return;
    this.#sentBytes += chunk.byteLength;
    this.#inFlight.push(chunk);
    this.#inFlightEnds.push(this.#sentBytes);
  }

  /** Forgets waiting bytes, for a socket that has been destroyed. */
  discard(): void {
    this.#chunks = [];
    // The destroyed socket may still reference chunks, so none of them is reported as written.
    this.#inFlight = [];
    this.#inFlightEnds = [];
    this.#inFlightHead = 0;
    this.#runBuffer = undefined;
    this.#pendingBytes = 0;
  }

  #closeRun(): void {
    if (this.#runBuffer === undefined) return;
    this.#chunks.push(new Uint8Array(this.#runBuffer, this.#runStart, this.#runEnd - this.#runStart));
    this.#runBuffer = undefined;
  }
}
