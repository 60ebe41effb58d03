import { defineConfig } from 'vitest/config';

/** Workspace packages resolve to their TypeScript sources in tests, so no build is needed first. */
export const sharedConfig = defineConfig({
  resolve: { conditions: ['@service-registry/source', 'module', 'node', 'default'] },
  ssr: {
    resolve: {
      conditions: ['@service-registry/source', 'node', 'default'],
      externalConditions: ['@service-registry/source', 'node'],
    },
  },
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    retry: process.env.CI === 'true' ? 1 : 0,
    // The JSON report feeds the repo-wide summary line that `pnpm test` prints at the end.
    reporters: ['default', 'json'],
    outputFile: { json: '.test-results/vitest.json' },
  },
});
