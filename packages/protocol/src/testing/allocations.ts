/**
 * Runs `action` and returns the length of every `Uint8Array` it constructed with a length, in
 * order. Tests use it to show which buffers a code path allocates.
 */
export function recordAllocations(action: () => void): number[] {
  const original = globalThis.Uint8Array;
  const lengths: number[] = [];
  globalThis.Uint8Array = new Proxy(original, {
    construct(target, args: unknown[], newTarget) {
      if (typeof args[0] === 'number') lengths.push(args[0]);
      return Reflect.construct(target, args, newTarget) as object;
    },
  });
  try {
    action();
  } finally {
    globalThis.Uint8Array = original;
  }
  return lengths;
}
