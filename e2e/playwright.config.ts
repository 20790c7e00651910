import { defineConfig } from '@playwright/test';

// One worker: the specs share one embedded world per file and drive several app processes.
export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  timeout: 120_000,
  expect: { timeout: 15_000 },
  workers: 1,
  fullyParallel: false,
  retries: 0,
  use: { actionTimeout: 15_000 },
  reporter: [['list'], ['json', { outputFile: 'results.json' }]],
});
