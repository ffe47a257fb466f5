// leakguard for node:test. Loaded first in each test file's process:
//   node --test --import leakguard/node-test
// and imported by test files for useServer() and allowLeaks().
import { after, afterEach, before, beforeEach } from 'node:test'
import { bindUseServer } from './harness/server-hooks.js'
import './harness/node-test.js'

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
  beforeAll: (fn, timeout) => before(fn, { timeout }),
  afterAll: (fn, timeout) => after(fn, { timeout }),
  beforeEach: (fn, timeout) => beforeEach(fn, { timeout }),
  afterEach: (fn, timeout) => afterEach(fn, { timeout }),
})
