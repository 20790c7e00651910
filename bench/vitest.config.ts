import { defineConfig } from 'vitest/config';

// The bench's own tests (helpers and the bank fixture); the benchmarks themselves are scripts.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
