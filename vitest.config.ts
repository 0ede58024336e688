import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // oclif writes through process.stdout; vitest's console interception would swallow it.
    disableConsoleIntercept: true,
    // command and e2e tests drive real processes; a loaded 2-core machine makes each CLI call slow
    testTimeout: 90_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two cores on CI: e2e files start several daemons each.
    maxWorkers: 2,
    globalSetup: ['test/helpers/global-setup.ts'],
  },
})
