import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/hello.ts'],
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'es2022',
});
