import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const sourceRoot = fileURLToPath(new URL('.', import.meta.url));

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

// Each pattern names a Node.js or host API that would tie the protocol package to one runtime.
const forbidden: [string, RegExp][] = [
  ['a node: import', /from\s+['"]node:|require\(\s*['"]node:|import\(\s*['"]node:/],
  ['a Node.js built-in module import', /from\s+['"](fs|net|tls|events|buffer|timers|path|os|stream|util|crypto)['"]/],
  ['Buffer', /\bBuffer\b/],
  ['a timer', /\b(setTimeout|setInterval|setImmediate|clearTimeout|clearInterval|queueMicrotask)\b/],
  ['console', /\bconsole\b/],
  ['process', /\bprocess\b/],
];

describe('protocol package source', () => {
  const files = sourceFiles(sourceRoot);

  test('contains source files to check', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  for (const [name, pattern] of forbidden) {
    test(`uses no ${name}`, () => {
      const offenders = files
        .filter((file) => pattern.test(stripComments(readFileSync(file, 'utf8'))))
        .map((file) => relative(sourceRoot, file));
      expect(offenders).toEqual([]);
    });
  }

  test('check detects a forbidden use', () => {
    expect(forbidden.find(([name]) => name === 'Buffer')![1].test('const b = Buffer.from([1]);')).toBe(true);
    expect(forbidden[0]![1].test("import { connect } from 'node:net';")).toBe(true);
  });
});

/** Drops comments, so that prose mentioning a forbidden name does not count as a use. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}
