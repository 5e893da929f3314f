/**
 * Stands in for real CPU-bound work such as image resizing: hashes `body` over and over for
 * `milliseconds`, never yielding to the event loop. Returns the hash so the work is not dead code.
 */
export function burnCpu(body: Uint8Array, milliseconds: number): number {
  const deadline = performance.now() + milliseconds;
  let hash = 2166136261;
  while (performance.now() < deadline) {
    for (const byte of body) hash = Math.imul(hash ^ byte, 16777619);
  }
  return hash >>> 0;
}
