import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/hello.ts', 'src/worker-pool.ts', 'src/worker-pool-worker.ts', 'src/blocking-worker-pool.ts'],
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'es2022',
});
