import { defineConfig } from 'vitest/config'

/**
 * Suites that load the whole machine on their own (thousands of requests, many processes, SIGKILLs): they
 * run one at a time after the rest, so that none of them starves another or a test waiting on real time.
 */
const MACHINE_LOADS = [
  'apps/server/src/cluster/chaos.e2e.test.ts',
  'apps/server/src/cluster/concert-chaos.e2e.test.ts',
  'apps/server/src/fuzz/**/*.e2e.test.ts',
  'apps/orders/src/cancel-or-ship.e2e.test.ts',
  'packages/postgres/src/consumers/crash-recovery*.e2e.test.ts',
  'packages/postgres/src/sagas/saga-crash-recovery.e2e.test.ts',
  'packages/postgres/src/sagas/saga-timers.e2e.test.ts',
]

export default defineConfig({
  test: {
    globalSetup: ['packages/testing/src/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Test runs hash hundreds of passwords: scrypt at 2^14, not OWASP's 2^17 (apps/identity password.ts).
    env: { TIDINGS_SCRYPT_COST: '14' },
    pool: 'forks',
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts'],
          exclude: MACHINE_LOADS,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'machine-loads', include: MACHINE_LOADS, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
})
