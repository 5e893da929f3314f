import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Returns the version of the installed package `name`, read from the package.json found by
 * walking up from the file that `import` resolves `name` to.
 */
export function packageVersion(name: string): string {
  let directory = dirname(fileURLToPath(import.meta.resolve(name)));
  for (;;) {
    const manifestPath = join(directory, 'package.json');
    try {
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { name?: string; version?: string };
      if (manifest.name === name && manifest.version !== undefined) return manifest.version;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }

    const parent = dirname(directory);
    if (parent === directory) throw new Error(`package.json of ${name} not found above ${fileURLToPath(import.meta.resolve(name))}`);
    directory = parent;
  }
}
