import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// Tests import the workspace packages from source, so a test run never depends on a stale build.
const alias = {
  '@warren/protocol': source('./packages/protocol/src/index.ts'),
  '@warren/adapter-node': source('./packages/adapter-node/src/index.ts'),
  '@warren/test-broker': source('./packages/test-broker/src/index.ts'),
  // The blocking adapter starts its I/O thread from a built file, so its tests use the build.
  '@warren/adapter-blocking': source('./packages/adapter-blocking/dist/index.js'),
};

// Broker tests that raise a memory alarm block publishing for every connection on the broker,
// so they run in a project of their own, after every other project has finished.
const exclusiveBrokerTests = ['packages/*/src/**/broker-control.broker.test.ts'];

export default defineConfig({
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'scripts/**/*.test.ts'],
          exclude: ['**/*.broker.test.ts', '**/node_modules/**'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'broker',
          include: ['packages/*/src/**/*.broker.test.ts', 'apps/*/src/**/*.broker.test.ts'],
          exclude: [...exclusiveBrokerTests, '**/node_modules/**'],
          testTimeout: 60_000,
          hookTimeout: 30_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'broker-exclusive',
          include: exclusiveBrokerTests,
          testTimeout: 60_000,
          hookTimeout: 30_000,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
