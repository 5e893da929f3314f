import { defineConfig } from 'tsup';

export default defineConfig({
  // The runner forks child.js by path, so each entry becomes its own file in dist/.
  entry: ['src/run.ts', 'src/child.ts', 'src/profile-summary.ts', 'src/blocking/run.ts', 'src/blocking/child.ts'],
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'es2022',
});
