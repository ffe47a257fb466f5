// leakguard for node:test. Loaded first in each test file's process:
//   node --test --import leakguard/node-test
// and imported by test files for useServer() and allowLeaks().
import { bindUseServer } from './harness/server-hooks.js'
import './harness/node-test.js'

// As its CommonJS object, at call time: an ES import of node:test here would make its ES facade before the
// harness takes over the file's root-level hooks (see harness/node-test.ts), and miss them.
type NodeTest = typeof import('node:test')
const nodeTest = (): NodeTest => process.getBuiltinModule('node:test') as NodeTest

export * from './harness/entry-exports.js'

/**
 * Starts a server for the tests of this file (or of the `describe` it is called in) on loopback
 * port 0, with node:test's before/after hooks, and guarantees it is stopped.
 * @example
 * const server = useServer(() => createApp())
 * test('health', async () => {
 *   await server.request.get('/health').expect(200)
 * })
 */
export const useServer = bindUseServer({
  beforeAll: (fn, timeout) => nodeTest().before(fn, { timeout }),
  afterAll: (fn, timeout) => nodeTest().after(fn, { timeout }),
  beforeEach: (fn, timeout) => nodeTest().beforeEach(fn, { timeout }),
  afterEach: (fn, timeout) => nodeTest().afterEach(fn, { timeout }),
})
