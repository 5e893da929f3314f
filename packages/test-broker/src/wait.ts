import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves with `promise`, or rejects with `description` when it takes longer than `timeoutMs`. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, description: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${description}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `condition` every 10 ms and rejects with an error naming `description` when it is
 * still false after `timeoutMs`. A `description` function is called only then, so it can report
 * the last value seen.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  description: string | (() => string),
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) {
      const text = typeof description === 'string' ? description : description();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${text}`);
    }
    await sleep(10);
  }
}
