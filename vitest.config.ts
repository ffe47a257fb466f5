import { defineConfig } from 'vitest/config'
import { leakguard } from 'leakguard/vitest'

// Our own suite runs with leakguard on: our tests do not leak.
export default defineConfig({
  // Vitest 3 (Vite 5 to 7) starts esbuild's service process when a test starts Vitest from code:
  // it lives as long as the worker (README, Limits).
  plugins: [leakguard({ allow: [{ kind: 'child-process', site: /node_modules\/esbuild\// }] })],
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    // Fixtures leak on purpose; tests run them through Vitest from code. So does the quick start.
    exclude: ['test/fixtures/**', 'examples/quick-start/**', 'node_modules/**'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    typecheck: { enabled: true, tsconfig: 'tsconfig.test.json', include: ['test/**/*.test-d.ts'] },
  },
})
