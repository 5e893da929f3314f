/** Helpers shared by the examples' command lines. */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Returns whether the module at `moduleUrl` is the script that Node was started with. It compares
 * real paths, so a symlinked path, a relative one or one with spaces still matches.
 */
export function isMainModule(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(fileURLToPath(moduleUrl)) === realpathSync(script);
  } catch {
    return false;
  }
}

/** Parses the value of the command-line option `--name` as an integer of at least `minimum`. */
export function parseInteger(name: string, value: string, minimum: number): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < minimum) {
    throw new Error(`--${name} must be an integer of at least ${minimum}; got "${value}"`);
  }
  return number;
}
