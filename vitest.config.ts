import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// Tests import the workspace packages from source, so a test run never depends on a stale build.
const alias = {
  '@warren/protocol': source('./packages/protocol/src/index.ts'),
  '@warren/adapter-node': source('./packages/adapter-node/src/index.ts'),
  '@warren/test-broker': source('./packages/test-broker/src/index.ts'),
};

export default defineConfig({
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'scripts/**/*.test.ts'],
          exclude: ['**/*.broker.test.ts', '**/node_modules/**'],
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'broker',
          include: ['packages/*/src/**/*.broker.test.ts', 'apps/*/src/**/*.broker.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
