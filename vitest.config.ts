import { defineConfig } from 'vitest/config';

// One run over every package. Integration tests start real processes and sockets, so
// they get generous timeouts; speed is measured in bench/, never here.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'spacetime-module/test/**/*.test.ts', 'bench/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
