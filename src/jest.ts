// Jest entry: `setupFilesAfterEnv: ['leakguard/jest']` arms the per-test and per-file leak brackets
// (side effect); test files import useServer() and allowLeaks() from here. Bundled to CommonJS
// (dist/harness/jest.cjs): Jest loads setup files and test files' imports with its own require.
import './harness/jest.js'
import { bindUseServer } from './harness/server-hooks.js'

export * from './harness/entry-exports.js'

type Hook = (fn: () => Promise<unknown>, timeout?: number) => void

/** Jest's hook of that name, read from the test file's globals when useServer() registers with it. */
function jestHook(name: 'beforeAll' | 'afterAll' | 'beforeEach' | 'afterEach'): Hook {
  return (fn, timeout) => {
    const hook = (globalThis as unknown as Record<string, Hook | undefined>)[name]
    if (typeof hook !== 'function') {
      throw new Error("useServer(): Jest's hooks are not globals here (`injectGlobals: false`?); call it in a test file run by Jest.")
    }
    hook(fn, timeout)
  }
}

/**
 * Starts a server for the tests of this file (or describe block) on loopback port 0 with Jest's
 * beforeAll and afterAll (beforeEach and afterEach with `scope: 'test'`), and guarantees it is
 * stopped — also when a test fails or times out.
 * @example
 * const { useServer } = require('leakguard/jest')
 * const server = useServer(() => createApp())
 * test('health', async () => {
 *   await server.request.get('/health').expect(200)
 * })
 */
export const useServer = bindUseServer({
  beforeAll: jestHook('beforeAll'),
  afterAll: jestHook('afterAll'),
  beforeEach: jestHook('beforeEach'),
  afterEach: jestHook('afterEach'),
})
