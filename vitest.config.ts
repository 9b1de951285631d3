import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    globalSetup: ['packages/testing/src/global-setup.ts'],
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Test runs hash hundreds of passwords: scrypt at 2^14, not OWASP's 2^17 (apps/identity password.ts).
    env: { TIDINGS_SCRYPT_COST: '14' },
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
})
