import { defineConfig } from 'tsup';

export default defineConfig({
  // The I/O worker is an entry of its own, because `new Worker()` loads it by file name.
  entry: ['src/index.ts', 'src/io-worker.ts'],
  format: ['esm', 'cjs'],
  dts: { entry: 'src/index.ts' },
  sourcemap: true,
  clean: true,
  // Gives the CommonJS build an `import.meta.url`, which locates the worker file.
  shims: true,
  target: 'es2022',
});
