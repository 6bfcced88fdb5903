import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'clients/typescript/test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    environment: 'node',
    // Timeouts catch a hang, not slowness: a busy CI machine runs the heavier tests at half speed.
    testTimeout: 90_000,
    hookTimeout: 120_000,
    // Two cores: more workers only add contention. Each file boots its own service.
    maxWorkers: 3,
    env: { NODE_ENV: 'test' },
  },
});
