import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return ['node_modules', 'dist', 'generated'].includes(entry.name) ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/**
 * Returns the error codes in a source file: every upper-case string literal with an underscore.
 * The generated folder is left out, because its reply-code names are AMQP's, not Warren's codes.
 */
function errorCodes(source: string): string[] {
  return [...source.matchAll(/'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'/g)].map((match) => match[1]!);
}

describe('error codes page', () => {
  const page = readFileSync(join(root, 'docs/errors.md'), 'utf8');
  const packages = readdirSync(join(root, 'packages')).map((name) => join(root, 'packages', name, 'src'));
  const codes = new Set(packages.flatMap(sourceFiles).flatMap((file) => errorCodes(readFileSync(file, 'utf8'))));

  test('finds the codes in the source', () => {
    expect(codes.has('FRAME_TOO_LARGE')).toBe(true);
    expect(codes.has('CHANNEL_CLOSED_BY_BROKER')).toBe(true);
    expect(codes.size).toBeGreaterThan(30);
  });

  test('lists every code', () => {
    const missing = [...codes].filter((code) => !page.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });
});
