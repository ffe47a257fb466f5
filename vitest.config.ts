import { defineConfig } from 'vitest/config'
import { leakguard } from 'leakguard/vitest'

// Our own suite runs with leakguard on: our tests do not leak.
export default defineConfig({
  plugins: [leakguard()],
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/fixtures/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    typecheck: { enabled: true, tsconfig: 'tsconfig.test.json', include: ['test/**/*.test-d.ts'] },
  },
})
