// leakguard for node:test. Loaded first in each test file's process:
//   node --test --import leakguard/node-test
// and imported by test files for useServer() and allowLeaks().
import { createRequire } from 'node:module'
import { bindUseServer } from './harness/server-hooks.js'
import './harness/node-test.js'

// Through require, at call time: an ES import of node:test here would make its ES facade before the
// harness takes over the file's root-level hooks (see harness/node-test.ts), and miss them.
type NodeTest = typeof import('node:test')
const nodeTest = (): NodeTest => createRequire(import.meta.url)('node:test') as NodeTest

export { allowLeaks } from './harness/allow.js'
export type { UseServerOptions } from './harness/server-hooks.js'
export type {
  ServerHandle,
  ServerFactory,
  ServerFactoryContext,
  ServerOptions,
  ServerSource,
  LifecycleLike,
  RequestListener,
} from './harness/server-handle.js'
export { LeakError } from './detector/errors.js'
export { LEAK_KINDS, type Leak, type LeakKind, type AllowEntry, type DetectorOptions } from './detector/types.js'
export type { ReportLeak, Report } from './reporters/schema.js'

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
